"""Where the embedded server keeps its socket and its state."""

from __future__ import annotations

import os
from pathlib import Path


def runtime_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR")
    path = Path(base) / "sbtui" if base else Path(f"/tmp/sbtui-{os.getuid()}")
    return path


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "sbtui"


def default_socket() -> Path:
    return runtime_dir() / "server.sock"


def private_dir(path: Path) -> Path:
    """Create `path` (mode 0700) and refuse one that another user owns or can enter."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = path.stat()
    if info.st_uid != os.getuid():
        raise PermissionError(f"{path} belongs to another user; remove it or set XDG_RUNTIME_DIR")
    if info.st_mode & 0o077:
        path.chmod(0o700)
    return path
