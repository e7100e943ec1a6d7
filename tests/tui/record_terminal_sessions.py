"""Record real programs' PTY output for the terminal tests.

    .venv/bin/python -m tests.tui.record_terminal_sessions


Each session runs under a real PTY (80x24, TERM=xterm-256color) with scripted keystrokes;
queries the program sends (device attributes, cursor position) are answered by our own
TerminalScreen, as the widget would. The output bytes land in tests/tui/data/NAME.bin; the
tests replay them, so they don't depend on the programs being installed.
"""

from __future__ import annotations

import os
import pty
import select
import struct
import sys
import tempfile
import termios
import fcntl
from pathlib import Path

from sbtui.tui.terminal import TerminalScreen, TerminalStream

DATA = Path(__file__).parent / "data"
ROWS, COLUMNS = 24, 80


def record(argv: list[str], keys: list[bytes], cwd: str) -> bytes:
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        env = {"TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
               "PATH": "/usr/bin:/bin", "HOME": cwd}
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    screen = TerminalScreen(COLUMNS, ROWS, on_answer=lambda text: os.write(fd, text.encode()))
    stream = TerminalStream(screen)
    output = bytearray()

    def pump(quiet: float) -> bool:
        """Read until the program has been quiet for `quiet` seconds; False at its exit."""
        while True:
            ready, _, _ = select.select([fd], [], [], quiet)
            if not ready:
                return True
            try:
                data = os.read(fd, 65536)
            except OSError:
                return False
            if not data:
                return False
            output.extend(data)
            stream.feed_bytes(data)

    pump(1.0)
    for key in keys:
        os.write(fd, key)
        if not pump(0.5):
            break
    pump(1.0)
    os.waitpid(pid, 0)
    return bytes(output)


def main() -> int:
    DATA.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as home:
        Path(home, "notes.txt").write_text("hello 世界\nsecond line\n")
        for name in ("alpha.py", "beta.txt"):
            Path(home, name).write_text("x\n")
        Path(home, "src").mkdir()
        sessions = {
            "vim": (
                ["/bin/sh", "-c", "printf 'before vim\\n'; vim -u NONE -N -i NONE -n notes.txt;"
                 " printf 'after vim\\n'"],
                [b"Go", b"typed \xe2\x9c\x93", b"\x1b", b":wq\r"],
            ),
            "ls": (["/bin/ls", "--color=always", "-F"], []),
        }
        for name, (argv, keys) in sessions.items():
            data = record(argv, keys, home)
            (DATA / f"{name}.bin").write_bytes(data)
            print(f"{name}: {len(data)} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
