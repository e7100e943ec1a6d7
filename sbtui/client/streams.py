"""The byte streams of a ContainerProcess: stdin as a writer, stdout/stderr as readers."""

from __future__ import annotations

import asyncio
import codecs
from typing import Awaitable, Callable

# Output a reader holds before the receiving side waits for it to be read (flow control
# then reaches the server and the engine).
BUFFER_LIMIT = 8 * 1024 * 1024
# A terminal shows output as it comes: a small buffer makes ctrl+c in a flood felt at once,
# instead of after megabytes already on their way have scrolled by.
PTY_BUFFER_LIMIT = 256 * 1024


class StreamReader:
    """stdout or stderr of a process: read, readline and async iteration over lines.

    Gives bytes, or str when the process was started with text=True.
    """

    def __init__(self, text: bool = False, ignored: bool = False, limit: int = BUFFER_LIMIT) -> None:
        self._limit = limit
        self._buffer = bytearray()
        self._eof = ignored
        self._error: BaseException | None = None
        self._changed = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace") if text else None
        self.ignored = ignored

    # called by the process's receive loop
    async def feed(self, data: bytes) -> None:
        self._buffer += data
        self._changed.set()
        if len(self._buffer) > self._limit:
            self._drained.clear()
            await self._drained.wait()

    def feed_eof(self, error: BaseException | None = None) -> None:
        self._eof = True
        self._error = self._error or error
        self._changed.set()
        self._drained.set()

    def _take(self, n: int) -> bytes | str:
        data = bytes(self._buffer[:n])
        del self._buffer[:n]
        if len(self._buffer) <= self._limit:
            self._drained.set()
        if self._decoder is None:
            return data
        return self._decoder.decode(data, final=self._eof and not self._buffer)

    async def _wait(self) -> None:
        self._changed.clear()
        await self._changed.wait()

    def _raise_if_failed(self) -> None:
        if self._error is not None and not self._buffer:
            raise self._error

    async def read(self, n: int = -1) -> bytes | str:
        """Up to `n` bytes as soon as some are there; with n < 0, everything until EOF."""
        if n < 0:
            while not self._eof:
                await self._wait()
            self._raise_if_failed()
            return self._take(len(self._buffer))
        while not self._buffer and not self._eof:
            await self._wait()
        self._raise_if_failed()
        return self._take(n)

    async def readline(self) -> bytes | str:
        """One line including its newline; the rest at EOF; empty when nothing is left."""
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                return self._take(end + 1)
            if self._eof:
                self._raise_if_failed()
                return self._take(len(self._buffer))
            await self._wait()

    def at_eof(self) -> bool:
        return self._eof and not self._buffer

    def __aiter__(self) -> "StreamReader":
        return self

    async def __anext__(self) -> bytes | str:
        line = await self.readline()
        if not line:
            raise StopAsyncIteration
        return line


class StreamWriter:
    """stdin of a process. `write` buffers, `drain` sends, `close` sends EOF."""

    def __init__(self, send: Callable[[bytes], Awaitable[None]], send_eof: Callable[[], Awaitable[None]]) -> None:
        self._send = send
        self._send_eof = send_eof
        self._pending = bytearray()
        self._closed = False
        self._lock = asyncio.Lock()
        self._flusher: asyncio.Task | None = None

    def write(self, data: bytes | str) -> None:
        if self._closed:
            raise ValueError("stdin is closed")
        self._pending += data.encode() if isinstance(data, str) else data
        # Send soon even if the caller never drains, like a pipe would.
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self.drain())

    async def drain(self) -> None:
        async with self._lock:
            while self._pending:
                chunk = bytes(self._pending[: 1 << 16])
                del self._pending[: len(chunk)]
                await self._send(chunk)

    def close(self) -> None:
        """Close stdin: the program reads EOF once everything written before has arrived."""
        if self._closed:
            return
        self._closed = True
        self._flusher = asyncio.ensure_future(self._close())

    async def _close(self) -> None:
        await self.drain()
        await self._send_eof()

    async def wait_closed(self) -> None:
        if self._flusher is not None:
            await self._flusher

    def is_closing(self) -> bool:
        return self._closed
