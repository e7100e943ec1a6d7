"""ContainerProcess: a command running in a sandbox, over one bidirectional Exec stream."""

from __future__ import annotations

import asyncio
import weakref

import grpc

from sbtui.client.errors import ConnectionLostError, ExecTimeoutError, from_rpc_error
from sbtui.client.streams import BUFFER_LIMIT, PTY_BUFFER_LIMIT, EndWaits, StreamReader, StreamWriter
from sbtui.proto import sandbox_pb2 as pb

# Receivers still running. The loop holds its tasks only weakly, and a receiver held back by
# output nobody reads waits on nothing but its own reader: without this, dropping the handle
# would destroy its receiver while pending.
_RUNNING: set[asyncio.Task] = set()


class _Receiver:
    """The receiving side of an exec stream: output into the readers, then the exit into `exit`.

    It holds no reference to its ContainerProcess, so that a handle dropped unclosed can be
    collected, and its finalizer then stops this.
    """

    def __init__(self, call, stdout: StreamReader, stderr: StreamReader) -> None:
        self._call = call
        self._stdout, self._stderr = stdout, stderr
        self.exit: asyncio.Future = asyncio.get_running_loop().create_future()
        self.returncode: int | None = None
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._receive())
        _RUNNING.add(self._task)
        self._task.add_done_callback(_RUNNING.discard)

    def cancel(self) -> None:
        """End the call (the server kills the process if it still runs) and the receiving,
        which may be held in a feed, waiting for output to be read."""
        self._call.cancel()
        if self._task is not None:
            self._task.cancel()

    async def stop(self) -> None:
        self.cancel()
        if self._task is not None:
            await asyncio.wait([self._task])
            if not self._task.cancelled() and (error := self._task.exception()) is not None:
                raise error

    async def _receive(self) -> None:
        error: BaseException | None = None
        try:
            while True:
                reply = await self._call.read()
                if reply is grpc.aio.EOF:
                    error = ConnectionLostError("the exec stream ended without an exit code")
                    break
                kind = reply.WhichOneof("kind")
                if kind == "stdout":
                    await self._stdout.feed(reply.stdout)
                elif kind == "stderr":
                    await self._stderr.feed(reply.stderr)
                elif kind == "exit":
                    self.returncode = reply.exit.exit_code
                    if reply.exit.timed_out:
                        error = ExecTimeoutError(
                            f"the command timed out and was killed (exit code {self.returncode})",
                            self.returncode,
                        )
                    break
        except grpc.aio.AioRpcError as err:
            error = from_rpc_error(err)
        except asyncio.CancelledError:
            error = ConnectionLostError("the process handle was closed")
            raise
        finally:
            stream_error = error if not isinstance(error, ExecTimeoutError) else None
            self._stdout.feed_eof(stream_error)
            self._stderr.feed_eof(stream_error)
            if not self.exit.done():
                if error is not None:
                    self.exit.set_exception(error)
                    # Marked retrieved: the readers raise it too, and a caller that never
                    # waits shouldn't get "Future exception was never retrieved" for it.
                    self.exit.exception()
                else:
                    self.exit.set_result(self.returncode)


def _stop_dropped(loop: asyncio.AbstractEventLoop, receiver: _Receiver) -> None:
    """The finalizer of a dropped handle. The collector may run it in any thread, so the
    receiver is stopped from the loop's; a closed loop has nothing left to stop."""
    if not loop.is_closed():
        loop.call_soon_threadsafe(receiver.cancel)


class ContainerProcess:
    """Handle to a running command.

    `stdin` is a StreamWriter (write, drain, close = EOF); `stdout` and `stderr` are
    StreamReaders (read, readline, `async for line in ...`); `wait()` gives the exit code.

    Output nobody reads waits in its reader, up to 8 MiB per stream (256 KiB with a PTY);
    past that the program is held back until it is read, as by a pipe. `read()` to EOF
    returns everything whatever its size. `wait()` never depends on the output being read:
    while it waits (or a `read()` to EOF of the other stream does), each stream keeps only its
    newest 8 MiB (256 KiB) unread and drops the oldest, counted in `stdout.dropped` and
    `stderr.dropped`; read the output before or while waiting to have it all. `close()`
    always returns at once; a handle dropped without it is closed when it is collected.
    """

    def __init__(
        self, call, *, text: bool, stdout_ignored: bool, stderr_ignored: bool, pty: bool = False
    ) -> None:
        self._call = call
        self._write_lock = asyncio.Lock()
        self.exec_id = ""
        self.stdin = StreamWriter(self._send_stdin, self._send_eof)
        limit = PTY_BUFFER_LIMIT if pty else BUFFER_LIMIT
        self._end_waits = EndWaits()
        self.stdout = StreamReader(text, ignored=stdout_ignored, limit=limit, end_waits=self._end_waits)
        self.stderr = StreamReader(text, ignored=stderr_ignored, limit=limit, end_waits=self._end_waits)
        self._receiver = _Receiver(call, self.stdout, self.stderr)
        self._exit = self._receiver.exit

    @property
    def returncode(self) -> int | None:
        return self._receiver.returncode

    @classmethod
    async def start(cls, stub, start: pb.ExecStart, metadata, text: bool) -> "ContainerProcess":
        call = stub.Exec(metadata=metadata)
        process = cls(
            call,
            text=text,
            stdout_ignored=start.stdout == pb.STDIO_IGNORE,
            stderr_ignored=start.stderr == pb.STDIO_IGNORE,
            pty=start.pty,
        )
        try:
            try:
                await call.write(pb.ExecRequest(start=start))
            except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
                # The server ended the call first (a refused token, say): its status, not
                # the failed write's "Internal error from Core", comes with the read below.
                pass
            first = await call.read()
        except grpc.aio.AioRpcError as err:
            raise from_rpc_error(err) from None
        if first is grpc.aio.EOF or first.WhichOneof("kind") != "started":
            call.cancel()
            raise ConnectionLostError("the server closed the exec stream before the command started")
        process.exec_id = first.started
        process._receiver.start()
        # A handle dropped without close() ends its stream as close() would: otherwise its
        # receiver, held back by output nobody will read, would wait for ever.
        dropped = weakref.finalize(process, _stop_dropped, asyncio.get_running_loop(), process._receiver)
        dropped.atexit = False  # at exit the loop has gone
        return process

    async def _write(self, request: pb.ExecRequest) -> None:
        if self._exit.done():
            return  # the process has ended: nothing can reach it any more
        async with self._write_lock:
            try:
                await self._call.write(request)
            except grpc.aio.AioRpcError as err:
                raise from_rpc_error(err) from None
            except asyncio.InvalidStateError:
                return  # the call finished while we waited for the lock

    async def _send_stdin(self, data: bytes) -> None:
        self._input_lost()
        await self._write(pb.ExecRequest(stdin=data))

    async def _send_eof(self) -> None:
        self._input_lost()
        await self._write(pb.ExecRequest(stdin_eof=True))

    def _input_lost(self) -> None:
        """Input for a process whose stream ended on an error (the connection lost, the token
        revoked, the exec's timeout) can reach nothing: say why instead of dropping it."""
        if self._exit.done() and not self._exit.cancelled() and (error := self._exit.exception()) is not None:
            raise error

    async def resize(self, rows: int, cols: int) -> None:
        """Tell the PTY its new size; the program gets SIGWINCH."""
        if not (0 < rows <= 1000 and 0 < cols <= 1000):
            raise ValueError(f"a terminal size must be 1-1000 rows and columns, got {rows}x{cols}")
        await self._write(pb.ExecRequest(resize=pb.ExecResize(rows=rows, cols=cols)))

    async def send_signal(self, signum: int) -> None:
        await self._write(pb.ExecRequest(signal=int(signum)))

    async def wait(self) -> int:
        """The exit code; raises ExecTimeoutError if the exec's timeout killed it.

        The exit comes after all the output: while this waits, output nobody reads is dropped
        beyond each stream's newest 8 MiB (see the class), so the wait never depends on it.
        """
        if self._exit.done():
            return self._exit.result()
        with self._end_waits.waiting():
            return await asyncio.shield(self._exit)

    def poll(self) -> int | None:
        return self.returncode

    async def close(self) -> None:
        """Stop following the process; the server kills it if it still runs. If it did, the
        output already received stays readable, then the readers raise ConnectionLostError."""
        await self._receiver.stop()

    async def __aenter__(self) -> "ContainerProcess":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()
