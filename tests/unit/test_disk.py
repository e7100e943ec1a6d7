"""The disk limit's measure of a sandbox's writes, on real files: blocks on disk, each file once,
never past the layer."""

from __future__ import annotations

import os

import pytest

from sbtui.server import disk
from sbtui.server.runtime.base import WritablePaths

MiB = 1 << 20


def _write(path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(os.urandom(size))
        f.flush()
        os.fsync(f.fileno())


def test_blocks_on_disk_are_counted_and_each_file_is_at_least_a_block(tmp_path):
    layer = tmp_path / "layer"
    _write(layer / "a" / "b" / "data", 3 * MiB)
    for i in range(100):
        (layer / "a" / f"empty{i}").touch()
    used = disk.usage(WritablePaths(str(layer)))
    files_and_dirs = 3 * MiB + 100 * disk.BLOCK + 2 * disk.BLOCK
    assert files_and_dirs <= used <= files_and_dirs + 64 * 1024


def test_a_sparse_file_counts_what_it_takes(tmp_path):
    layer = tmp_path / "layer"
    layer.mkdir()
    with open(layer / "sparse", "wb") as f:
        f.truncate(10 << 30)
    assert disk.usage(WritablePaths(str(layer))) < MiB


def test_hard_links_count_once(tmp_path):
    layer = tmp_path / "layer"
    _write(layer / "data", 2 * MiB)
    (layer / "sub").mkdir()
    for i in range(5):
        os.link(layer / "data", layer / "sub" / f"link{i}")
    assert disk.usage(WritablePaths(str(layer))) < 2 * MiB + 64 * 1024


def test_symlinks_are_not_followed(tmp_path):
    outside = tmp_path / "another-sandbox"
    _write(outside / "big", 8 * MiB)
    layer = tmp_path / "layer"
    layer.mkdir()
    (layer / "to-dir").symlink_to(outside)
    (layer / "to-file").symlink_to(outside / "big")
    (layer / "to-root").symlink_to("/")
    assert disk.usage(WritablePaths(str(layer))) <= 3 * disk.BLOCK


def test_the_top_itself_must_not_be_a_symlink(tmp_path):
    outside = tmp_path / "elsewhere"
    _write(outside / "big", MiB)
    (tmp_path / "layer").symlink_to(outside)
    with pytest.raises(OSError):
        disk.usage(WritablePaths(str(tmp_path / "layer")))


def test_mounted_files_count_and_missing_ones_do_not(tmp_path):
    _write(tmp_path / "hosts", 4 * MiB)
    paths = WritablePaths("", [str(tmp_path / "hosts"), str(tmp_path / "never-made")])
    assert 4 * MiB <= disk.usage(paths) < 4 * MiB + 64 * 1024


def test_nesting_deeper_than_the_walk_holds_counts_as_over(tmp_path):
    layer = tmp_path / "layer"
    deep = layer.joinpath(*["d"] * (disk.MAX_DEPTH - 1))
    deep.mkdir(parents=True)
    disk.usage(WritablePaths(str(layer)))  # as deep as it goes: measured
    (deep / "d").mkdir()
    with pytest.raises(disk.TooDeep):
        disk.usage(WritablePaths(str(layer)))


def test_checks_come_sooner_near_the_limit_and_rarer_for_slow_walks():
    assert disk.interval(100 << 30, 0.001) == disk.MAX_INTERVAL
    assert disk.interval(0, 0.001) == disk.MIN_INTERVAL
    assert disk.interval(disk.WRITE_RATE, 0.001) == 1.0
    assert disk.interval(0, 0.2) == pytest.approx(disk.WALK_SHARE * 0.2)
    assert disk.interval(0, 60) == disk.MAX_INTERVAL
