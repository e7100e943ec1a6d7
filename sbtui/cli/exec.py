"""`sbtui sandbox exec`: a command in a sandbox wired to this process's stdin, stdout and stderr.

Without a PTY, remote stdout and stderr go to the local ones as they arrive. With one (-t), the
local terminal is put in raw mode so every key reaches the sandbox, the remote size follows the
local window, and the terminal is restored however the session ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import termios
import tty
from typing import Iterator

from sbtui.cli import output as out
from sbtui.client import ContainerProcess, ExecTimeoutError, Sandbox, SbtuiError
from sbtui.client.streams import StreamReader

CHUNK = 64 * 1024
EXIT_TIMED_OUT = 124  # what timeout(1) exits with
EXIT_OUTPUT_CLOSED = 128 + signal.SIGPIPE  # what a shell reports when the reader went away
DEFAULT_SIZE = (24, 80)
# Signals that end the session the orderly way: the local terminal restored, the remote command killed.
ENDING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class OutputClosed(Exception):
    """The program reading our stdout (e.g. `head`) has exited."""


async def run_exec(sandbox: Sandbox, command: list[str], *, interactive: bool, pty: bool, **options) -> int:
    """Run `command` and return its exit code (124 if its timeout killed it, 128+N on signal N)."""
    with _ended_by_signals() as received:
        try:
            if pty:
                return await _run_pty(sandbox, command, interactive, options)
            return await _run_pipes(sandbox, command, interactive, options)
        except ExecTimeoutError as err:
            out.warn(str(err))
            return EXIT_TIMED_OUT
        except OutputClosed:
            return EXIT_OUTPUT_CLOSED
        except asyncio.CancelledError:
            if not received:
                raise
            task = asyncio.current_task()
            assert task is not None  # a coroutine's code runs in a task
            task.uncancel()
            return 128 + received[0]


@contextlib.contextmanager
def _ended_by_signals() -> Iterator[list[int]]:
    """Turn ENDING_SIGNALS into a cancellation of this task, so `finally` blocks run."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None  # entered in a coroutine, which runs in a task
    received: list[int] = []

    def end(signum: int) -> None:
        if not received:
            received.append(signum)
            task.cancel()

    for signum in ENDING_SIGNALS:
        loop.add_signal_handler(signum, end, signum)
    try:
        yield received
    finally:
        for signum in ENDING_SIGNALS:
            loop.remove_signal_handler(signum)


async def _run_pipes(sandbox: Sandbox, command: list[str], interactive: bool, options: dict) -> int:
    process = await sandbox.exec(command, **options)
    # Leaving the block early (Ctrl-C, a broken pipe) closes the stream: the server kills the command.
    async with process:
        feeder = _start_feeding(process, interactive)
        try:
            await asyncio.gather(
                _copy(process.stdout, sys.stdout.fileno()), _copy(process.stderr, sys.stderr.fileno())
            )
            return await process.wait()
        finally:
            await _cancel(feeder)


async def _run_pty(sandbox: Sandbox, command: list[str], interactive: bool, options: dict) -> int:
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    local_tty = _terminal_fd(stdout, stdin)
    raw = interactive and os.isatty(stdin)
    with _raw_terminal(stdin) if raw else contextlib.nullcontext():
        process = await sandbox.exec(
            command, pty=True, pty_size=_window_size(local_tty), term=os.environ.get("TERM"), **options
        )
        async with process:
            # Without -i the remote terminal keeps its input open, as with `docker exec -t`.
            feeder = asyncio.create_task(_feed_stdin(process, stdin)) if interactive else None
            try:
                with _follow_window(process, local_tty):
                    await _copy(process.stdout, stdout)
                    return await process.wait()
            finally:
                await _cancel(feeder)


def _start_feeding(process: ContainerProcess, interactive: bool) -> asyncio.Task | None:
    """With -i, a task copying local stdin; without, EOF at once."""
    if interactive:
        return asyncio.create_task(_feed_stdin(process, sys.stdin.fileno()))
    process.stdin.close()  # like `docker exec` without -i: the command reads EOF at once
    return None


async def _cancel(task: asyncio.Task | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _copy(reader: StreamReader, fd: int) -> None:
    """Remote output to a local fd as it arrives, so progress shows and pipes stream."""
    while chunk := await reader.read(CHUNK):
        assert isinstance(chunk, bytes)  # the command was started without text=True
        _write_all(fd, chunk)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except BrokenPipeError:
        raise OutputClosed() from None


async def _feed_stdin(process: ContainerProcess, fd: int) -> None:
    """Local stdin to the command, then EOF when it ends."""
    try:
        while chunk := await _read_some(fd):
            process.stdin.write(chunk)
            await process.stdin.drain()
        process.stdin.close()
        await process.stdin.wait_closed()
    except SbtuiError:
        pass  # the command has ended or the stream broke: waiting for the exit code tells which


async def _read_some(fd: int) -> bytes:
    """What is there to read on `fd`, waiting without blocking the loop; b'' at EOF."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    try:
        loop.add_reader(fd, _wake, ready)
    except PermissionError:
        # Regular files and /dev/null can't be polled, and reading them never waits.
        return _read(fd)
    try:
        await ready
    finally:
        loop.remove_reader(fd)
    return _read(fd)


def _wake(ready: asyncio.Future) -> None:
    if not ready.done():  # the fd may be ready again before the waiter has run
        ready.set_result(None)


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, CHUNK)
    except OSError:
        return b""  # a closed terminal (EIO) or a closed fd: no more input either way


def _terminal_fd(*fds: int) -> int | None:
    return next((fd for fd in fds if os.isatty(fd)), None)


def _window_size(fd: int | None) -> tuple[int, int]:
    if fd is None:
        return DEFAULT_SIZE
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return DEFAULT_SIZE
    # Some terminals (and fresh PTYs) report 0x0 until something sets a size.
    return (size.lines or DEFAULT_SIZE[0], size.columns or DEFAULT_SIZE[1])


@contextlib.contextmanager
def _raw_terminal(fd: int) -> Iterator[None]:
    """Raw mode: keys like Ctrl-C and Ctrl-D travel as bytes to the sandbox's terminal."""
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        # A terminal that has gone away (SIGHUP) can't be restored, and needs no restoring.
        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextlib.contextmanager
def _follow_window(process: ContainerProcess, fd: int | None) -> Iterator[None]:
    """Pass every local window change (SIGWINCH) on to the PTY in the sandbox."""
    if fd is None:
        yield
        return
    loop = asyncio.get_running_loop()
    pending: set[asyncio.Task] = set()

    def changed() -> None:
        task = loop.create_task(_resize(process, _window_size(fd)))
        pending.add(task)  # held until done: the loop keeps only weak references to tasks
        task.add_done_callback(pending.discard)

    loop.add_signal_handler(signal.SIGWINCH, changed)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGWINCH)
        for task in pending:
            task.cancel()


async def _resize(process: ContainerProcess, size: tuple[int, int]) -> None:
    with contextlib.suppress(SbtuiError, ValueError):
        await process.resize(*size)
