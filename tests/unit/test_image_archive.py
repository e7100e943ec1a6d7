"""The rewriting of a saved image on its way back to the engine, on archives made by Python's tarfile
in the formats engines write (USTAR, PAX, GNU long names); what engines make of the result is
proven against them in tests/integration/test_snapshots.py."""

from __future__ import annotations

import asyncio
import io
import json
import os
import tarfile

import pytest

from sbtui.server.runtime.image_archive import ArchiveError, with_env

CONFIG = {
    "architecture": "amd64",
    "os": "linux",
    "config": {"Env": ["PATH=/bin", "TOKEN=s3cret"], "Cmd": ["sh"]},
    "container_config": {"Env": ["PATH=/bin", "TOKEN=s3cret"], "Cmd": ["sh"]},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "a" * 64]},
}
MANIFEST = [{"Config": "c" * 64 + ".json", "RepoTags": None, "Layers": ["l" * 64 + "/layer.tar"]}]


def archive(fmt: int, layer: bytes, deep: str = "") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:

        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1700000000
            tar.addfile(info, io.BytesIO(data))

        add("l" * 64 + "/layer.tar", layer)
        add("l" * 64 + "/json", json.dumps({"id": "l", **CONFIG}).encode())
        add(deep + "c" * 64 + ".json", json.dumps(CONFIG).encode())
        add("manifest.json", json.dumps(MANIFEST).encode())
    return out.getvalue()


async def rewritten(data: bytes, chunk: int = 4096) -> bytes:
    reader = asyncio.StreamReader()
    for at in range(0, len(data), chunk):
        reader.feed_data(data[at : at + chunk])
    reader.feed_eof()
    return b"".join([part async for part in with_env(reader, "localhost/x:y", ["PATH=/bin", "OWN=1"])])


def members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
async def test_the_config_gets_the_new_env_and_everything_else_is_kept(fmt):
    layer = os.urandom(3 * 1024 * 1024 + 17)  # larger than a JSON member is read, not a block multiple
    deep = "d" * 120 + "/" if fmt != tarfile.USTAR_FORMAT else ""  # a name only PAX or GNU can hold
    out = await rewritten(archive(fmt, layer, deep))
    assert b"s3cret" not in out
    found = members(out)
    assert found["l" * 64 + "/layer.tar"] == layer
    for name in (deep + "c" * 64 + ".json", "l" * 64 + "/json"):
        doc = json.loads(found[name])
        assert doc["config"] == {"Env": ["PATH=/bin", "OWN=1"], "Cmd": ["sh"]}
        assert "container_config" not in doc and doc["architecture"] == "amd64"
    assert json.loads(found["manifest.json"])[0]["RepoTags"] == ["localhost/x:y"]


async def test_an_archive_cut_short_is_an_error():
    data = archive(tarfile.PAX_FORMAT, os.urandom(100_000))
    with pytest.raises((ArchiveError, asyncio.IncompleteReadError)):
        await rewritten(data[:20_000])
    with pytest.raises(ArchiveError, match="not a tar archive"):
        await rewritten(b"x" * 1024)
