"""While the dashboard draws, whatever is written to file descriptor 2 goes to a log file.

gRPC's C core writes its messages (a GOAWAY, a failed handshake, anything GRPC_VERBOSITY asks
for) straight to fd 2 from its own threads, and so may any other C library or a stray Python
warning; the terminal the dashboard draws on is fd 2 too (Textual draws on sys.__stderr__), so
such a line would land on the screen in the middle of a frame. Textual gets a descriptor of its
own for the terminal; fd 2 points at `dashboard.log` in the state directory, which holds the
last run's messages.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Iterator

from sbtui import paths


def log_path() -> Path:
    return paths.state_dir() / "dashboard.log"


@contextlib.contextmanager
def stderr_to_log(path: Path | None = None) -> Iterator[Path]:
    """Send fd 2 (and sys.stderr) to `path` while the block runs; Textual keeps the terminal."""
    path = path or log_path()
    try:
        paths.private_dir(path.parent)
        log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError:
        path = Path(os.devnull)  # nowhere to keep them, and still never on the screen
        log_fd = os.open(path, os.O_WRONLY)
    sys.stderr.flush()
    terminal = open(os.dup(2), "w", encoding=getattr(sys.__stderr__, "encoding", None), errors="replace")
    saved_fd = os.dup(2)
    saved = (sys.stderr, sys.__stderr__)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    sys.__stderr__ = terminal  # type: ignore[misc]  # typeshed calls it Final; Textual draws on it
    sys.stderr = open(2, "w", closefd=False, buffering=1, errors="backslashreplace")
    try:
        yield path
    finally:
        sys.stderr.flush()
        sys.stderr, sys.__stderr__ = saved  # type: ignore[misc]  # as above
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        terminal.close()
