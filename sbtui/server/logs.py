"""The main command's output: read live from the engine while a sandbox runs, kept in the
state store when it finishes (its container is removed then), so it can always be shown.

Kept output is sealed like secrets (sealing.py, the sandbox id as associated data): a command
may well print a secret's value, and the state file must not hold it in clear.
"""

from __future__ import annotations

import struct
import time
from typing import AsyncIterator

from sbtui.proto import sandbox_pb2 as pb
from sbtui.server.errors import invalid
from sbtui.server.runtime.base import EngineError, Runtime
from sbtui.server.sealing import Sealer
from sbtui.server.store import SandboxRecord, Store

KEEP_BYTES = 256 * 1024  # per finished sandbox: what a dashboard shows as recent output
_FRAME = struct.Struct(">BI")
# Leads a sealed row. Rows kept in clear by earlier versions start with a frame, whose first
# byte is a stream number (1 or 2), so the two can't be mistaken for each other.
_SEALED = b"\x00"


def _chunk(fd: int, data: bytes) -> pb.LogChunk:
    return pb.LogChunk(stderr=data, time=time.time()) if fd == 2 else pb.LogChunk(stdout=data, time=time.time())


def _tail_frames(frames: list[tuple[int, bytes]], lines: int) -> list[tuple[int, bytes]]:
    """The frames holding the last `lines` lines (the first one cut at a line start)."""
    if lines <= 0:
        return frames
    remaining = lines
    for i in range(len(frames) - 1, -1, -1):
        fd, data = frames[i]
        pos = len(data) - (1 if i == len(frames) - 1 and data.endswith(b"\n") else 0)
        while (pos := data.rfind(b"\n", 0, pos)) >= 0:
            remaining -= 1
            if remaining == 0:
                head = [(fd, data[pos + 1:])] if pos + 1 < len(data) else []
                return head + frames[i + 1:]
    return frames


def encode(frames: list[tuple[int, bytes]]) -> bytes:
    out = bytearray()
    for fd, data in frames:
        out += _FRAME.pack(fd, len(data)) + data
    return bytes(out)


def decode(blob: bytes) -> list[tuple[int, bytes]]:
    frames, at = [], 0
    while at + _FRAME.size <= len(blob):
        fd, length = _FRAME.unpack_from(blob, at)
        at += _FRAME.size
        frames.append((fd, blob[at:at + length]))
        at += length
    return frames


class KeptOutput:
    """The kept output of finished sandboxes, sealed in the state store."""

    def __init__(self, store: Store, sealer: Sealer) -> None:
        self._store = store
        self._sealer = sealer

    def save(self, sandbox_id: str, frames: list[tuple[int, bytes]]) -> None:
        self._store.save_logs(sandbox_id, _SEALED + self._sealer.seal(sandbox_id, encode(frames)))

    def load(self, sandbox_id: str) -> list[tuple[int, bytes]]:
        blob = self._store.load_logs(sandbox_id)
        if blob.startswith(_SEALED):
            blob = self._sealer.open(
                sandbox_id, blob[len(_SEALED):], f"the kept output of sandbox {sandbox_id}",
                "put back the secrets key it was sealed with to read it",
            )
        return decode(blob)


async def keep(runtime: Runtime, kept: KeptOutput, record: SandboxRecord) -> None:
    """Save the last KEEP_BYTES of a finished sandbox's output before its container goes."""
    frames: list[tuple[int, bytes]] = []
    size = 0
    try:
        async for fd, data in runtime.logs(record.container_id, follow=False, tty=record.params.pty):
            frames.append((fd, data))
            size += len(data)
            # Whole frames go while the rest still holds KEEP_BYTES; the first left is cut below.
            while len(frames) > 1 and size - len(frames[0][1]) >= KEEP_BYTES:
                size -= len(frames.pop(0)[1])
    except EngineError:
        return  # the container is already gone: nothing more to keep
    if frames and size > KEEP_BYTES:
        fd, data = frames[0]
        frames[0] = (fd, data[size - KEEP_BYTES:])
    kept.save(record.sandbox_id, frames)


async def stream(
    runtime: Runtime, kept: KeptOutput, record: SandboxRecord, follow: bool, tail_lines: int
) -> AsyncIterator[pb.LogChunk]:
    if tail_lines < 0:
        raise invalid("tail_lines", f"must not be negative, got {tail_lines}")
    if not record.finished and record.container_id:
        sent = {1: 0, 2: 0}
        try:
            async for fd, data in runtime.logs(
                record.container_id, follow=follow, tty=record.params.pty, tail=tail_lines
            ):
                sent[fd] += len(data)
                yield _chunk(fd, data)
        except EngineError:
            if not any(sent.values()):  # the container went before we read it
                for chunk in _kept(kept, record, tail_lines):
                    yield chunk
                return
        if follow and not tail_lines:
            # Podman can end a follow when the container stops, before its last lines.
            for chunk in await _catch_up(runtime, kept, record, sent):
                yield chunk
        return
    for chunk in _kept(kept, record, tail_lines):
        yield chunk


def _kept(kept: KeptOutput, record: SandboxRecord, tail_lines: int) -> list[pb.LogChunk]:
    return [_chunk(fd, data) for fd, data in _tail_frames(kept.load(record.sandbox_id), tail_lines)]


async def _catch_up(runtime: Runtime, kept: KeptOutput, record: SandboxRecord, sent: dict[int, int]) -> list[pb.LogChunk]:
    """What a full read has beyond the `sent` bytes of each stream."""
    try:
        frames = [f async for f in runtime.logs(record.container_id, follow=False, tty=record.params.pty)]
    except EngineError:
        # Removed: by then its output is kept, whole unless it was longer than KEEP_BYTES.
        frames = kept.load(record.sandbox_id)
        if sum(len(d) for _, d in frames) >= KEEP_BYTES:
            return []
    whole = {fd: b"".join(d for f, d in frames if f == fd) for fd in (1, 2)}
    return [_chunk(fd, whole[fd][sent[fd]:]) for fd in (1, 2) if len(whole[fd]) > sent[fd]]
