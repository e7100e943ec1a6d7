"""The last bytes of a container's output, read from the end of its log: what it costs follows
the bytes asked for (and the length of a line), never the length of the whole output.

Docker's log API gives a tail in entries (a line, or a 16 KiB piece of a longer one), so ever
more are asked for until they hold enough. Podman's tail joins the pieces of a long line and
moves newlines between entries, so the bytes it gives are not the bytes written; its k8s-file
log, which conmon writes on the host beside the service that the server started, is read
backwards instead.
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path
from typing import AsyncIterator, Callable, Iterable

Frames = list[tuple[int, bytes]]

FIRST_TAIL = 256
MAX_TAIL = 1 << 24
_BLOCK = 64 * 1024
_STREAMS = {b"stdout": 1, b"stderr": 2}


def merged(frames: Iterable[tuple[int, bytes]], most: int = 1024 * 1024) -> Frames:
    """`frames` with the neighbours of one stream joined (up to `most` bytes a piece): a log of
    short lines is otherwise a message per line all the way to the reader."""
    out: Frames = []
    run: list[bytes] = []
    run_fd, run_size = 0, 0
    for fd, data in frames:
        if run and (fd != run_fd or run_size + len(data) > most):
            out.append((run_fd, b"".join(run)))
            run, run_size = [], 0
        run.append(data)
        run_fd, run_size = fd, run_size + len(data)
    if run:
        out.append((run_fd, b"".join(run)))
    return out


class _Tail:
    """The last `size` bytes of the frames added, oldest first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.frames: deque[tuple[int, bytes]] = deque()
        self.held = 0

    def append(self, fd: int, data: bytes) -> None:
        self.frames.append((fd, data))
        self.held += len(data)
        while self.held - len(self.frames[0][1]) >= self.size:
            self.held -= len(self.frames.popleft()[1])

    def result(self) -> Frames:
        frames = list(self.frames)
        if self.held > self.size:
            fd, data = frames[0]
            frames[0] = (fd, data[self.held - self.size :])
        return frames


async def from_tail_reads(read: Callable[[int], AsyncIterator[Frames]], size: int, tty: bool) -> Frames:
    """The last `size` bytes, by reads of the last N entries (`read(N)`, yielding them as they
    arrive) for growing N: as many as the entries read so far say are needed."""
    entries, before = FIRST_TAIL, -1
    while True:
        tail = _Tail(size)
        read_bytes = count = 0
        async for frames in read(entries):
            for fd, data in frames:
                tail.append(fd, data)
                read_bytes += len(data)
                count += 1
        # The whole log: fewer entries than asked for (without a terminal a frame is an
        # entry), or no more bytes than with fewer entries.
        whole = (not tty and count < entries) or read_bytes == before
        if tail.held >= size or whole or entries >= MAX_TAIL:
            return merged(tail.result())
        per_entry = max(read_bytes / entries, 1.0)
        entries, before = min(max(entries * 4, int(size / per_entry * 1.25)), MAX_TAIL), read_bytes


async def from_whole_read(read: AsyncIterator[Frames], size: int) -> Frames:
    """The last `size` bytes of a whole read: memory follows `size`, time the whole log."""
    tail = _Tail(size)
    async for frames in read:
        for fd, data in frames:
            tail.append(fd, data)
    return merged(tail.result())


def from_k8s_file(path: Path, size: int) -> Frames:
    """The last `size` bytes of a k8s-file log: lines of `TIME STREAM F|P CONTENT`, where F ends
    a line (its newline is not written) and P is a piece of one."""
    found: list[tuple[int, bytes]] = []  # newest first
    held = 0
    with open(path, "rb") as f:
        end = f.seek(0, os.SEEK_END)
        rest = b""  # the start of a line whose beginning is in an earlier block
        while held < size and end > 0:
            start = max(0, end - _BLOCK)
            f.seek(start)
            block = f.read(end - start) + rest
            end = start
            lines = block.split(b"\n")
            rest = lines.pop(0) if start > 0 else b""
            for line in reversed(lines):
                frame = _k8s_line(line)
                if frame is not None:
                    found.append(frame)
                    held += len(frame[1])
                    if held >= size:
                        break
    tail = _Tail(size)
    for fd, data in reversed(found):
        tail.append(fd, data)
    return merged(tail.result())


def _k8s_line(line: bytes) -> tuple[int, bytes] | None:
    parts = line.split(b" ", 3)
    if len(parts) < 3 or parts[1] not in _STREAMS:
        return None  # the empty piece after the last newline, or not a log line
    content = parts[3] if len(parts) == 4 else b""
    return _STREAMS[parts[1]], content + b"\n" if parts[2] == b"F" else content
