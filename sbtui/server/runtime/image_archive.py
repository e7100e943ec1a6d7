"""A saved image, rewritten on its way back to the engine: a new environment, a new name.

Both engines save an image (`images/{id}/get`) as a docker-archive tar: layer tars, the image
config as JSON, legacy per-layer JSON and `manifest.json`; both load one (`images/load`). Only
the small JSON members change here: the config's `Env` is replaced, the config of the container
the image was committed from is dropped, and the manifest gets the new tag. Layers pass through
as they stream, so nothing is held whole in memory or written to disk on the way (the config
being rewritten may hold secrets' values).
"""

from __future__ import annotations

import json
import posixpath
import tarfile
from typing import AsyncIterator, Protocol

BLOCK = 512
_CHUNK = 1 << 20
_JSON_AT_MOST = 1 << 20  # JSON members are read whole; anything larger passes through
_EXTENDED = {tarfile.XHDTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK}


class ArchiveError(Exception):
    """The saved image is not a tar this module can read."""


class Reader(Protocol):
    async def readexactly(self, n: int) -> bytes: ...

    async def read(self, n: int) -> bytes: ...


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def _pax(data: bytes) -> dict[str, str]:
    """The records of a PAX extended header ("LEN key=value\\n" each)."""
    records, at = {}, 0
    while at < len(data) and data[at : at + 1] != b"\0":
        length = int(data[at : data.index(b" ", at)])
        key, _, value = data[data.index(b" ", at) + 1 : at + length - 1].partition(b"=")
        records[key.decode()] = value.decode("utf-8", "surrogateescape")
        at += length
    return records


def _edit(name: str, data: bytes, ref: str, env: list[str]) -> bytes:
    doc = json.loads(data)
    if name == "manifest.json":
        for entry in doc:
            entry["RepoTags"] = [ref]
    elif isinstance(doc, dict):
        doc.pop("container_config", None)
        if isinstance(doc.get("config"), dict):
            doc["config"]["Env"] = env
    return json.dumps(doc).encode()


async def with_env(source: Reader, ref: str, env: list[str]) -> AsyncIterator[bytes]:
    """The archive read from `source`, for `ref`, its image's environment exactly `env`."""
    extended: list[bytes] = []  # headers that describe the next member
    path, size_override = None, None
    while True:
        header = await source.readexactly(BLOCK)
        if header == bytes(BLOCK):  # the end: what follows is padding
            yield bytes(2 * BLOCK)
            return
        try:
            info = tarfile.TarInfo.frombuf(header, "utf-8", "surrogateescape")
        except tarfile.HeaderError as err:
            raise ArchiveError(f"the saved image is not a tar archive: {err}") from None
        if info.type in _EXTENDED:
            data = await source.readexactly(_padded(info.size))
            extended.append(header + data)
            if info.type == tarfile.XHDTYPE:
                records = _pax(data[: info.size])
                path = records.get("path", path)
                size_override = int(records["size"]) if "size" in records else size_override
            elif info.type == tarfile.GNUTYPE_LONGNAME:
                path = data[: info.size].rstrip(b"\0").decode("utf-8", "surrogateescape")
            continue
        name = posixpath.normpath(path or info.name)
        size = info.size if size_override is None else size_override
        if info.isreg() and size <= _JSON_AT_MOST and (name.endswith(".json") or name.endswith("/json")):
            data = _edit(name, (await source.readexactly(_padded(size)))[:size], ref, env)
            member = tarfile.TarInfo(name)
            member.size, member.mode, member.mtime = len(data), info.mode, info.mtime
            yield member.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
            yield data + bytes(_padded(len(data)) - len(data))
        else:
            yield b"".join(extended) + header
            left = _padded(size)
            while left:
                chunk = await source.read(min(left, _CHUNK))
                if not chunk:
                    raise ArchiveError("the saved image ended in the middle of a member")
                left -= len(chunk)
                yield chunk
        extended, path, size_override = [], None, None
