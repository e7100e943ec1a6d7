"""The dashboard as a person runs it: `sbtui` on a real pseudo-terminal, keys written to it as a
terminal would send them (several in one write, as over SSH), the screen read back through a
terminal emulator."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from typing import Iterator

import pyte

from tests import servers
from tests.servers import ROOT

ROWS, COLUMNS = 40, 160


def read_until(fd: int, wanted: bytes, timeout: float) -> bytes:
    """Terminal output until `wanted` appears; fails with what was seen after `timeout` s."""
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{wanted!r} did not appear within {timeout} s; saw {seen[-2000:]!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:  # the program closed the terminal
                break
    return seen


@contextlib.contextmanager
def dashboard_on_a_pty(address: str, *flags: str, **env: str) -> Iterator[tuple[int, subprocess.Popen]]:
    """`sbtui --server ADDRESS FLAGS…` on a new 160x40 pseudo-terminal: (the terminal's side, the
    process); killed (by its pid) if it is still running at the end."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "sbtui", "--server", address, *flags],
        stdin=child,
        stdout=child,
        stderr=child,
        cwd=ROOT,
        start_new_session=True,
        env=dict(os.environ, TERM="xterm-256color", XDG_CONFIG_HOME="/nonexistent", **env),
    )
    os.close(child)
    try:
        yield main, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(main)


class Terminal:
    """What the dashboard shows on the terminal at `fd`, kept up to date as it is read."""

    def __init__(self, fd: int, proc: subprocess.Popen) -> None:
        self.fd, self.proc = fd, proc
        self.screen = pyte.Screen(COLUMNS, ROWS)
        self._stream = pyte.ByteStream(self.screen)

    def type(self, data: bytes) -> None:
        """Write all of `data` at once: the dashboard reads it as one burst."""
        assert os.write(self.fd, data) == len(data)

    def running(self) -> bool:
        return self.proc.poll() is None

    def ended(self, timeout: float) -> int:
        """The dashboard's exit code, once it has exited (the screen read meanwhile: a program
        whose terminal is full blocks on its last writes)."""
        deadline = time.monotonic() + timeout
        while self.running():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the dashboard still runs after {timeout} s; the screen:\n{self.text()}"
                )
            self._read(0.05)
        return self.proc.wait()

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def _read(self, timeout: float) -> None:
        if select.select([self.fd], [], [], timeout)[0]:
            try:
                self._stream.feed(os.read(self.fd, 65536))
            except OSError:  # the program closed the terminal
                pass

    def wait_for(self, condition, what: str, timeout: float = 30.0) -> None:
        """Read the screen until `condition(text)` holds; fail naming `what`, with the screen."""
        deadline = time.monotonic() + timeout
        while not condition(self.text()):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {timeout} s; the screen:\n{self.text()}")
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"the dashboard ended ({self.proc.returncode}) before {what}; the screen:\n{self.text()}"
                )
            self._read(0.05)

    def shows(self, words: str, timeout: float = 30.0) -> None:
        self.wait_for(lambda text: words in text, repr(words), timeout)

    async def until(self, condition, what: str, timeout: float = 30.0):
        """Await `condition()` (e.g. a question to the server) until it is truthy, reading the
        screen between tries: a dashboard whose terminal is not read stops drawing."""

        async def read() -> None:
            self._read(0.02)
            await asyncio.sleep(0.01)

        return await servers.until(condition, timeout, what, pause=read)
