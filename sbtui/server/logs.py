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
from sbtui.server.runtime.base import EngineError, EngineNotFound, Runtime
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
    until they have read the rest of it (at most GRACE seconds): an engine can end a follow at
    the exit before a follower of a flood has had everything, and the rest is read again from
    the container's log (_catch_up)."""

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
    if record.finished or not record.container_id:
        for chunk in _kept(kept, record, tail_lines):
            yield chunk
        return
    sent = {1: 0, 2: 0}
    try:
        async for chunk in _read(runtime, record, follow, tail_lines, sent):
            yield chunk
    except EngineError as err:
        if not any(sent.values()):  # the container went before we read it
            for chunk in _kept(kept, record, tail_lines):
                yield chunk
            return
        async for chunk in _resume(runtime, kept, record, follow, tail_lines, log_bytes, sent, err):
            yield chunk
    if follow and not tail_lines and sum(sent.values()) < log_bytes:
        # An engine can end a follow as the container stops, before its last lines: Podman
        # often; Docker when the follow began as the container was ending (seen through a
        # node agent that had restarted: the follow it began again got none of the lines the
        # command printed as it ended). They are read again from the log. Only while the log
        # holds everything sent (it is bounded by the log limit, and once rotated the counts
        # say nothing); streamed, so a follower costs no more memory at its end than before.
        async for chunk in _catch_up(runtime, kept, record, sent):
            yield chunk


def _kept(kept: KeptOutput, record: SandboxRecord, tail_lines: int) -> list[pb.LogChunk]:
    frames = log_tail.merged(_tail_frames(kept.load(record.sandbox_id), tail_lines))
    return [_chunk(fd, data) for fd, data in frames]


async def _read(
    runtime: Runtime, record: SandboxRecord, follow: bool, tail_lines: int, sent: dict[int, int]
) -> AsyncIterator[pb.LogChunk]:
    """The engine's log of the sandbox beyond the `sent` bytes of each stream, which it counts
    up as it goes."""
    skip = dict(sent)
    async for fd, data in runtime.logs(
        record.container_id, follow=follow, tty=record.params.pty, tail=tail_lines
    ):
        if skip[fd] >= len(data):
            skip[fd] -= len(data)
            continue
        data, skip[fd] = data[skip[fd] :], 0
        sent[fd] += len(data)
        yield _chunk(fd, data)


RESUME_WITHIN = 30.0  # seconds a broken read of the output is tried again without a new byte
_RESUME_PAUSE = 0.5


async def _resume(
    runtime: Runtime,
    kept: KeptOutput,
    record: SandboxRecord,
    follow: bool,
    tail_lines: int,
    log_bytes: int,
    sent: dict[int, int],
    err: EngineError,
) -> AsyncIterator[pb.LogChunk]:
    """The rest of a read of the engine's log that broke off after `sent` bytes (a node's agent
    restarting, the engine's connection dropped): the log is read again from the start, the
    bytes already sent skipped, for as long as each new read brings more or RESUME_WITHIN
    seconds pass. A reader is never left thinking a cut-short output is all of it: what
    can't be read again from where it broke off ends the call with an error saying so."""
    said = f"the output of sandbox {record.sandbox_id} broke off after {sum(sent.values())} bytes"
    if tail_lines or sum(sent.values()) >= log_bytes:
        # The last lines asked for, or a log that may have rotated: where it broke off can't
        # be found again by counting bytes from its start.
        raise EngineError(f"{said}: {err}; read it again") from None
    log.warning("%s: %s; reading it again from there", said, err)
    since = time.monotonic()
    while True:
        before = sum(sent.values())
        try:
            async for chunk in _read(runtime, record, follow, 0, sent):
                yield chunk
            return
        except EngineNotFound:
            rest = _kept_beyond(kept, record, sent)
            if rest is None:
                raise EngineError(f"{said}, and its container is gone; its last 256 KiB were kept") from None
            for chunk in rest:
                yield chunk
            return
        except EngineError as again:
            err = again
        if sum(sent.values()) > before:
            since = time.monotonic()
        elif time.monotonic() - since > RESUME_WITHIN:
            raise EngineError(
                f"the output of sandbox {record.sandbox_id} broke off after {sum(sent.values())} bytes "
                f"and could not be read again for {RESUME_WITHIN:.0f} s: {err}"
            ) from None
        await asyncio.sleep(_RESUME_PAUSE)


async def _catch_up(
    runtime: Runtime, kept: KeptOutput, record: SandboxRecord, sent: dict[int, int]
) -> AsyncIterator[pb.LogChunk]:
    """What a full read has beyond the `sent` bytes of each stream."""
    try:
        async for chunk in _read(runtime, record, False, 0, sent):
            yield chunk
    except EngineError:
        for chunk in _kept_beyond(kept, record, sent) or []:
            yield chunk


def _kept_beyond(kept: KeptOutput, record: SandboxRecord, sent: dict[int, int]) -> list[pb.LogChunk] | None:
    """What the kept output has beyond the `sent` bytes of each stream: its container was
    removed, by then with its output kept, whole unless longer than KEEP_BYTES (None: where
    the kept part starts is not known)."""
    frames = kept.load(record.sandbox_id)
    if sum(len(d) for _, d in frames) >= KEEP_BYTES:
        return None
    chunks = []
    for fd in (1, 2):
        rest = b"".join(d for f, d in frames if f == fd)[sent[fd] :]
        if rest:
            sent[fd] += len(rest)
            chunks.append(_chunk(fd, rest))
    return chunks
