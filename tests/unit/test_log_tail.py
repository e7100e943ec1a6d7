"""Reading the last bytes of a k8s-file log (Podman's) backwards, and joining neighbours."""

from __future__ import annotations

from sbtui.server.runtime.log_tail import from_k8s_file, from_whole_read, merged

# What conmon writes: a line cut into pieces (P) and ended (F), both streams, an empty line.
LOG = (
    b"2026-12-05T11:30:20.1+00:00 stdout P " + b"a" * 70_000 + b"\n"
    b"2026-12-05T11:30:20.2+00:00 stdout F " + b"b" * 10 + b"\n"
    b"2026-12-05T11:30:20.3+00:00 stderr F oops\n"
    b"2026-12-05T11:30:20.4+00:00 stdout F \n"
    b"2026-12-05T11:30:20.5+00:00 stdout P end"
)
WRITTEN = [(1, b"a" * 70_000 + b"b" * 10 + b"\n"), (2, b"oops\n"), (1, b"\nend")]


def test_the_whole_log_when_it_is_shorter_than_asked(tmp_path):
    path = tmp_path / "ctr.log"
    path.write_bytes(LOG)
    assert from_k8s_file(path, 1 << 20) == WRITTEN


def test_the_last_bytes_across_blocks_and_pieces(tmp_path):
    path = tmp_path / "ctr.log"
    path.write_bytes(LOG)
    assert from_k8s_file(path, 70_000) == [
        (1, b"a" * 69_980 + b"b" * 10 + b"\n"),
        (2, b"oops\n"),
        (1, b"\nend"),
    ]
    assert from_k8s_file(path, 3) == [(1, b"end")]


def test_an_empty_log(tmp_path):
    path = tmp_path / "ctr.log"
    path.write_bytes(b"")
    assert from_k8s_file(path, 100) == []


def test_neighbours_of_one_stream_are_joined_up_to_a_size():
    assert merged([(1, b"a"), (1, b"b"), (2, b"c"), (1, b"d")]) == [(1, b"ab"), (2, b"c"), (1, b"d")]
    assert merged([(1, b"aa"), (1, b"bb"), (1, b"cc")], most=4) == [(1, b"aabb"), (1, b"cc")]


async def test_a_whole_read_keeps_only_the_last_bytes():
    async def read():
        for i in range(1000):
            yield [(1, b"%03d\n" % i), (2, b"e")]

    assert await from_whole_read(read(), 11) == [
        (2, b"e"),
        (1, b"998\n"),
        (2, b"e"),
        (1, b"999\n"),
        (2, b"e"),
    ]
    assert await from_whole_read(read(), 2) == [(1, b"\n"), (2, b"e")]
