"""The byte streams of a ContainerProcess: stdin as a writer, stdout/stderr as readers."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import io
from typing import Awaitable, Callable, Iterator

from sbtui.client.errors import SbtuiError

# Output a reader holds unread before the receiving side waits for it to be read (flow control
# then reaches the server and the engine, and holds the program back as a full pipe would).
BUFFER_LIMIT = 8 * 1024 * 1024
# A terminal shows output as it comes: a small buffer makes ctrl+c in a flood felt at once,
# instead of after megabytes already on their way have scrolled by.
PTY_BUFFER_LIMIT = 256 * 1024


class EndWaits:
    """The calls waiting for a process's end: wait(), and read() to EOF of stdout or stderr.

    The process's exit comes after all its output, on the same stream. While such a call
    waits, output that nobody reads must not hold the program back, or the call would wait
    forever: each reader then keeps only its newest `limit` bytes unread (see StreamReader).
    """

    def __init__(self) -> None:
        self._count = 0
        self._readers: list[StreamReader] = []

    def add(self, reader: "StreamReader") -> None:
        self._readers.append(reader)

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        self._count += 1
        if self._count == 1:
            for reader in self._readers:
                reader._drop_oldest_when_full(True)
        try:
            yield
        finally:
            self._count -= 1
            if self._count == 0:
                for reader in self._readers:
                    reader._drop_oldest_when_full(False)


class StreamReader:
    """stdout or stderr of a process: read, readline and async iteration over lines.

    Gives bytes, or str when the process was started with text=True. Up to `limit` bytes
    (BUFFER_LIMIT; PTY_BUFFER_LIMIT with a PTY) wait here unread; past that the program is held
    back until they are read, as by a pipe. read() with no size and readline() take the output
    as it comes, so they are never held up by the limit, whatever the size.

    While a call waits for the process's end (ContainerProcess.wait(), or read() to EOF of the
    other stream), output nobody reads no longer holds the program back: a reader holding
    `limit` unread bytes keeps the newest ones and drops the oldest; `dropped` counts them.
    """

    def __init__(
        self,
        text: bool = False,
        ignored: bool = False,
        limit: int = BUFFER_LIMIT,
        end_waits: EndWaits | None = None,
    ) -> None:
        self._limit = limit
        self._buffer = bytearray()
        self._eof = ignored
        self._error: BaseException | None = None
        self._changed = asyncio.Event()  # data or EOF arrived
        self._room = asyncio.Event()  # a feed held at the limit may go on (or look again)
        self._room.set()
        # read() to EOF and readline() in progress: they take all that comes, so none of it
        # is held back or dropped meanwhile.
        self._collecting = 0
        self._dropping = False
        self._end_waits = end_waits or EndWaits()
        self._end_waits.add(self)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace") if text else None
        self.ignored = ignored
        self.dropped = 0

    # called by the process's receive loop
    async def feed(self, data: bytes) -> None:
        self._buffer += data
        self._changed.set()
        while len(self._buffer) > self._limit and not self._collecting:
            if self._dropping:
                excess = len(self._buffer) - self._limit
                del self._buffer[:excess]
                self.dropped += excess
                return
            self._room.clear()
            await self._room.wait()

    def feed_eof(self, error: BaseException | None = None) -> None:
        self._eof = True
        self._error = self._error or error
        self._changed.set()
        self._room.set()

    def _drop_oldest_when_full(self, on: bool) -> None:
        self._dropping = on
        self._room.set()

    def _take(self, n: int) -> bytes:
        if n >= len(self._buffer):
            data = bytes(self._buffer)
            self._buffer.clear()
        else:
            with memoryview(self._buffer) as view:
                data = bytes(view[:n])
            del self._buffer[:n]
        if len(self._buffer) <= self._limit:
            self._room.set()
        return data

    def _decode(self, data: bytes) -> bytes | str:
        if self._decoder is None:
            return data
        return self._decoder.decode(data, final=self._eof and not self._buffer)

    def _move_into(self, out: io.BytesIO) -> None:
        if self._buffer:
            out.write(self._buffer)
            self._buffer.clear()
            self._room.set()

    def _put_back(self, out: io.BytesIO) -> None:
        """Undo what a cancelled read took, so that the next read gets it."""
        if out.tell():
            self._buffer[0:0] = out.getvalue()

    async def _wait(self) -> None:
        self._changed.clear()
        await self._changed.wait()

    def _raise_if_failed(self) -> None:
        if self._error is not None and not self._buffer:
            raise self._error

    @contextlib.contextmanager
    def _collect(self) -> Iterator[io.BytesIO]:
        """Output taken as it comes, into one buffer (held once, whatever its size)."""
        out = io.BytesIO()
        self._collecting += 1
        self._room.set()
        try:
            yield out
        except BaseException:
            self._put_back(out)
            raise
        finally:
            self._collecting -= 1

    async def read(self, n: int = -1) -> bytes | str:
        """Up to `n` bytes as soon as some are there; with n < 0, everything until EOF."""
        if n < 0:
            with self._end_waits.waiting(), self._collect() as out:
                while True:
                    self._move_into(out)
                    if self._eof:
                        break
                    await self._wait()
            if not out.tell():
                self._raise_if_failed()
            return self._decode(out.getvalue())
        while not self._buffer and not self._eof:
            await self._wait()
        self._raise_if_failed()
        return self._decode(self._take(n))

    async def readline(self) -> bytes | str:
        """One line including its newline; the rest at EOF; empty when nothing is left."""
        with self._collect() as head:  # the start of a line longer than what has come yet
            while True:
                end = self._buffer.find(b"\n")
                if end >= 0 or self._eof:
                    if not head.tell() and end < 0:
                        self._raise_if_failed()
                    line = self._take(end + 1 if end >= 0 else len(self._buffer))
                    break
                self._move_into(head)
                await self._wait()
        if head.tell():
            head.write(line)
            line = head.getvalue()
        return self._decode(line)

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

    def __init__(
        self, send: Callable[[bytes], Awaitable[None]], send_eof: Callable[[], Awaitable[None]]
    ) -> None:
        self._send = send
        self._send_eof = send_eof
        self._pending = bytearray()
        self._closed = False
        self._lock = asyncio.Lock()
        self._flusher: asyncio.Task | None = None
        self._failure: BaseException | None = None

    def write(self, data: bytes | str) -> None:
        """Buffer `data` and send it soon; raises what made the last send fail (the process's
        stream ended on an error, say), as a pipe whose reader went raises on write."""
        if self._closed:
            raise ValueError("stdin is closed")
        self._raise_failure()
        self._pending += data.encode() if isinstance(data, str) else data
        # Send soon even if the caller never drains, like a pipe would.
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush_soon())

    async def _flush_soon(self) -> None:
        try:
            await self.drain()
        except SbtuiError:
            pass  # kept in self._failure: the next write or drain raises it

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    async def drain(self) -> None:
        async with self._lock:
            self._raise_failure()
            while self._pending:
                chunk = bytes(self._pending[: 1 << 16])
                del self._pending[: len(chunk)]
                try:
                    await self._send(chunk)
                except SbtuiError as err:
                    self._failure = err
                    raise

    def close(self) -> None:
        """Close stdin: the program reads EOF once everything written before has arrived."""
        if self._closed:
            return
        self._closed = True
        self._flusher = asyncio.ensure_future(self._close())

    async def _close(self) -> None:
        try:
            await self.drain()
            await self._send_eof()
        except SbtuiError as err:
            self._failure = err  # wait_closed raises it

    async def wait_closed(self) -> None:
        if self._flusher is not None:
            await self._flusher
        self._raise_failure()

    def is_closing(self) -> bool:
        return self._closed
