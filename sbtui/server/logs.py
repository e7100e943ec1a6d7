"""The main command's output: read live from the engine while a sandbox runs, kept in the
state store when it finishes (its container is removed then), so it can always be shown.

Kept output is sealed like secrets (sealing.py, the sandbox id as associated data): a command
may well print a secret's value, and the state file must not hold it in clear.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from typing import AsyncIterator, Iterator

from sbtui.proto import sandbox_pb2 as pb
from sbtui.server.errors import invalid
from sbtui.server.runtime import log_tail
from sbtui.server.runtime.base import EngineError, Runtime
from sbtui.server.sealing import Sealer
from sbtui.server.store import SandboxRecord, Store

log = logging.getLogger("sbtui.server")

KEEP_BYTES = 256 * 1024  # per finished sandbox: what a dashboard shows as recent output
_FRAME = struct.Struct(">BI")
# Leads a sealed row. Rows kept in clear by earlier versions start with a frame, whose first
# byte is a stream number (1 or 2), so the two can't be mistaken for each other.
_SEALED = b"\x00"


def _chunk(fd: int, data: bytes) -> pb.LogChunk:
    return (
        pb.LogChunk(stderr=data, time=time.time()) if fd == 2 else pb.LogChunk(stdout=data, time=time.time())
    )


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
                head = [(fd, data[pos + 1 :])] if pos + 1 < len(data) else []
                return head + frames[i + 1 :]
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
        frames.append((fd, blob[at : at + length]))
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
                sandbox_id,
                blob[len(_SEALED) :],
                f"the kept output of sandbox {sandbox_id}",
                "put back the secrets key it was sealed with to read it",
            )
        return decode(blob)


class Readers:
    """Who is reading a sandbox's output from the engine. A finished sandbox's container stays
    until they have read the rest of it (at most GRACE seconds): Podman ends a follow at the
    exit, often before a follower of a flood has had everything, and the rest is read again
    from the container's log (_catch_up)."""

    GRACE = 60.0

    def __init__(self) -> None:
        self._count: dict[str, int] = {}
        self._gone: dict[str, asyncio.Event] = {}

    @contextlib.contextmanager
    def reading(self, sandbox_id: str) -> Iterator[None]:
        self._count[sandbox_id] = self._count.get(sandbox_id, 0) + 1
        try:
            yield
        finally:
            self._count[sandbox_id] -= 1
            if not self._count[sandbox_id]:
                del self._count[sandbox_id]
                gone = self._gone.pop(sandbox_id, None)
                if gone is not None:
                    gone.set()

    async def done(self, sandbox_id: str) -> None:
        """Return once nobody reads the sandbox's output, or after GRACE seconds."""
        if sandbox_id not in self._count:
            return
        gone = self._gone.setdefault(sandbox_id, asyncio.Event())
        try:
            await asyncio.wait_for(gone.wait(), self.GRACE)
        except asyncio.TimeoutError:
            log.info(
                "the output of sandbox %s was still being read %.0f s after it finished",
                sandbox_id,
                self.GRACE,
            )


async def keep(runtime: Runtime, kept: KeptOutput, record: SandboxRecord) -> None:
    """Save the last KEEP_BYTES of a finished sandbox's output before its container goes."""
    try:
        frames = await runtime.last_output(record.container_id, record.params.pty, KEEP_BYTES)
    except EngineError:
        return  # the container is already gone: nothing more to keep
    kept.save(record.sandbox_id, frames)


async def stream(
    runtime: Runtime, kept: KeptOutput, record: SandboxRecord, follow: bool, tail_lines: int, log_bytes: int
) -> AsyncIterator[pb.LogChunk]:
    """A sandbox's output: from the engine while it runs (`log_bytes` is the most its log
    holds), else what was kept."""
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
        if follow and not tail_lines and runtime.follow_may_end_early and sum(sent.values()) < log_bytes:
            # Podman can end a follow when the container stops, before its last lines: they
            # are read again from the log. Only while the log holds everything sent (it is
            # bounded by the log limit, and once rotated the counts say nothing); streamed,
            # so a follower costs no more memory at its end than before.
            async for chunk in _catch_up(runtime, kept, record, sent):
                yield chunk
        return
    for chunk in _kept(kept, record, tail_lines):
        yield chunk


def _kept(kept: KeptOutput, record: SandboxRecord, tail_lines: int) -> list[pb.LogChunk]:
    frames = log_tail.merged(_tail_frames(kept.load(record.sandbox_id), tail_lines))
    return [_chunk(fd, data) for fd, data in frames]


async def _catch_up(
    runtime: Runtime, kept: KeptOutput, record: SandboxRecord, sent: dict[int, int]
) -> AsyncIterator[pb.LogChunk]:
    """What a full read has beyond the `sent` bytes of each stream."""
    skip = dict(sent)
    try:
        async for fd, data in runtime.logs(record.container_id, follow=False, tty=record.params.pty):
            if skip[fd] >= len(data):
                skip[fd] -= len(data)
                continue
            yield _chunk(fd, data[skip[fd] :])
            skip[fd] = 0
    except EngineError:
        # Removed meanwhile: by then its output is kept, whole unless longer than KEEP_BYTES.
        frames = kept.load(record.sandbox_id)
        if sum(len(d) for _, d in frames) >= KEEP_BYTES:
            return
        for fd in (1, 2):
            rest = b"".join(d for f, d in frames if f == fd)[sent[fd] :]
            if rest:
                yield _chunk(fd, rest)
