"""The Terminal widget driving real programs through a real PTY (bash, vim), no sandbox."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import shutil
import struct
import subprocess
import termios
from pathlib import Path

import pytest

from tests.tui.terminal_host import TerminalHost, wait_for

pytestmark = pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")


class Pty:
    """A program on the slave side of a PTY; its master wired to a Terminal widget."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        self.master, slave = pty.openpty()
        env = {
            "TERM": "xterm-256color",
            "PS1": "$ ",
            "PATH": "/usr/bin:/bin",
            "HOME": str(cwd),
            "LANG": "C.UTF-8",
        }
        self.process = subprocess.Popen(
            # The keyboard's signals as a terminal's program gets them: a test run started in
            # the background (`./bootstrap test &`) ignores SIGINT and SIGQUIT, and so would
            # everything it starts, ctrl+c's sleep included. Reset by env, not a preexec_fn:
            # Python run in the forked child runs gRPC's after-fork handlers, which can abort
            # it while this process's channels are busy.
            ["env", "--default-signal=INT,QUIT", *argv],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        os.close(slave)

    def foreground(self) -> list[str]:
        """The command line of the process holding the terminal (leading its foreground process
        group): a ctrl+c goes to it. [] while it can't be read (it has just ended)."""
        try:
            return Path(f"/proc/{os.tcgetpgrp(self.master)}/cmdline").read_bytes().decode().split("\0")[:-1]
        except OSError:
            return []

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    async def resize(self, rows: int, columns: int) -> None:
        # The kernel sends SIGWINCH to the program, as the sandbox's PTY would.
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))

    def attach(self, terminal) -> None:
        def readable() -> None:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: the program has exited and the slave is gone
                data = b""
            if data:
                terminal.feed(data)
            else:
                asyncio.get_running_loop().remove_reader(self.master)

        asyncio.get_running_loop().add_reader(self.master, readable)

    def close(self) -> None:
        try:
            asyncio.get_running_loop().remove_reader(self.master)
        except RuntimeError:
            pass
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        os.close(self.master)


def screen_text(terminal) -> str:
    return "\n".join(terminal.vt.display)


async def type_line(pilot, text: str) -> None:
    await pilot.press(*text, "enter")


async def test_a_shell_gets_keys_and_the_size(tmp_path):
    session = Pty(["bash", "--norc", "--noprofile", "-i"], tmp_path)
    app = TerminalHost(send=session.send, on_resize_process=session.resize)
    try:
        async with app.run_test(size=(60, 15)) as pilot:
            terminal = app.terminal
            session.attach(terminal)
            await wait_for(lambda: "$ " in screen_text(terminal), what="the prompt")
            await type_line(pilot, "echo $((6*7))")
            await wait_for(lambda: "\n42" in screen_text(terminal), what="42")
            await type_line(pilot, "stty size")
            await wait_for(lambda: "15 60" in screen_text(terminal), what="stty size 15 60")
            await pilot.resize_terminal(72, 20)
            await wait_for(lambda: terminal.terminal_size == (20, 72), what="the resize")
            await type_line(pilot, "stty size")
            await wait_for(lambda: "20 72" in screen_text(terminal), what="stty size 20 72")
            await type_line(pilot, "sleep 30")
            # Not before the shell has started it: a ctrl+c that comes first goes to the shell,
            # or to the command before, which may still hold the terminal as it ends.
            await wait_for(lambda: session.foreground() == ["sleep", "30"], what="sleep to run")
            await pilot.press("ctrl+c")
            await type_line(pilot, "echo after-$?")
            await wait_for(lambda: "after-130" in screen_text(terminal), what="ctrl+c to interrupt")
    finally:
        session.close()


@pytest.mark.skipif(not shutil.which("vim"), reason="needs vim")
async def test_vim_edits_a_file_and_gives_the_screen_back(tmp_path):
    session = Pty(["bash", "--norc", "--noprofile", "-i"], tmp_path)
    app = TerminalHost(send=session.send, on_resize_process=session.resize)
    try:
        async with app.run_test(size=(60, 15)) as pilot:
            terminal = app.terminal
            session.attach(terminal)
            await wait_for(lambda: "$ " in screen_text(terminal), what="the prompt")
            await type_line(pilot, "echo kept")
            await type_line(pilot, "vim -u NONE -N -i NONE -n notes.txt")
            await wait_for(lambda: terminal.vt.in_alternate_screen, what="vim's screen")
            await wait_for(lambda: "notes.txt" in screen_text(terminal), what="vim")
            await pilot.press("i", *"first", "enter", *"second", "escape")
            # Arrow keys in vim's application cursor mode: up, then append to that line.
            await pilot.press("up", "A", *" line", "escape")
            await pilot.press(*":wq", "enter")
            await wait_for(lambda: not terminal.vt.in_alternate_screen, what="vim to exit")
            await wait_for(lambda: (tmp_path / "notes.txt").exists(), what="the file")
            assert (tmp_path / "notes.txt").read_text() == "first line\nsecond\n"
            assert "echo kept" in screen_text(terminal)
            assert terminal.stream.errors == 0
    finally:
        session.close()
