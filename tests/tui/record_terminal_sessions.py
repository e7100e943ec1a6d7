"""Record real programs' PTY output for the terminal tests.

    .venv/bin/python -m tests.tui.record_terminal_sessions [NAME ...]

Each session runs under a real PTY (80x24, TERM=xterm-256color) with scripted keystrokes;
queries the program sends (device attributes, cursor position) are answered by our own
TerminalScreen, as the widget would. The output bytes land in tests/tui/data/NAME.bin; the
tests replay them, so they don't depend on the programs being installed. With names, only
those sessions are recorded again (the vttest ones need the `vttest` package).

vttest is the terminal test program of xterm's maintainer: each of its screens draws a pattern
with the sequences under test and says what a correct terminal shows.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import sys
import tempfile
import termios
from pathlib import Path

from sbtui.tui.terminal import TerminalScreen, TerminalStream

DATA = Path(__file__).parent / "data"
ROWS, COLUMNS = 24, 80


def record(argv: list[str], keys: list[bytes], cwd: str) -> bytes:
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        env = {
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PATH": "/usr/bin:/bin",
            "HOME": cwd,
        }
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


def binary_head() -> list[str]:
    """`head` of a binary, cut just after its first SO byte: what `cat` of a binary sends."""
    binary = Path("/bin/true")
    size = binary.read_bytes().index(b"\x0e") + 1
    return ["/bin/sh", "-c", f"printf 'before\\n'; head -c {size} {binary}; printf '\\nafter\\n'"]


def main(names: list[str]) -> int:
    DATA.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as home:
        Path(home, "notes.txt").write_text("hello 世界\nsecond line\n")
        for name in ("alpha.py", "beta.txt"):
            Path(home, name).write_text("x\n")
        Path(home, "src").mkdir()
        sessions = {
            "vim": (
                [
                    "/bin/sh",
                    "-c",
                    "printf 'before vim\\n'; vim -u NONE -N -i NONE -n notes.txt; printf 'after vim\\n'",
                ],
                [b"Go", b"typed \xe2\x9c\x93", b"\x1b", b":wq\r"],
            ),
            "ls": (["/bin/ls", "--color=always", "-F"], []),
            "binary": (binary_head(), []),
            # Menu 11.5 (ISO-6429 cursor movement), test 1: a box drawn with HPA.
            "vttest_hpa": (["vttest"], [b"11\r", b"5\r", b"1\r", b"\r", b"0\r", b"0\r", b"0\r"]),
            # Menu 11.4.2 (VT520 cursor movement) with origin mode on and the margins on the top
            # half of the screen, test 14: CPL from a CUP to the last row, below the margins.
            "vttest_origin": (
                ["vttest"],
                [b"11\r", b"4\r", b"2\r", b"2\r", b"4\r", b"14\r", b"\r", b"0\r", b"0\r", b"0\r", b"0\r"],
            ),
        }
        unknown = set(names) - set(sessions)
        if unknown:
            print(
                f"unknown session(s): {', '.join(sorted(unknown))}; choose from {', '.join(sessions)}",
                file=sys.stderr,
            )
            return 2
        for name, (argv, keys) in sessions.items():
            if names and name not in names:
                continue
            data = record(argv, keys, home)
            (DATA / f"{name}.bin").write_bytes(data)
            print(f"{name}: {len(data)} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
