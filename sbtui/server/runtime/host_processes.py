"""Processes of containers as this host sees them, read from /proc: for what the Engine API
can't do, such as signalling an exec (it has no call for that) or finding the execs a previous
server left running (Podman loses its records of them). Any runtime whose engine runs on this
host can use it; one whose containers run on other hosts can't.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import struct
import time

KILL_WAIT = 10.0  # seconds kill_exec_trees waits for the processes it killed to end


def serving(url: str) -> int:
    """The pid of the process listening on a unix:// socket (its credentials at listen()), by
    a connection to it; 0 for another kind of address, or when nothing listens there."""
    if not url.startswith("unix://"):
        return 0
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(2)
            conn.connect(url.removeprefix("unix://"))
            creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return 0
    return struct.unpack("3i", creds)[0]


def started_at(pid: int) -> float:
    """When a process started, in seconds since the epoch; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])  # field 22, starttime
        with open("/proc/stat") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return 0.0
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def signal_tree(root: int, signum: int) -> None:
    """Signal a host process and everything it started."""
    for pid in [root, *_descendants(root)]:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


async def kill_exec_trees(inits: list[int]) -> None:
    """SIGKILL every process an exec entered into the containers whose main processes are
    `inits` (host pids), with its children; return once they have ended (or KILL_WAIT passed)."""
    roots = exec_roots([pid for pid in inits if pid])
    for pid in roots:
        signal_tree(pid, signal.SIGKILL)
    deadline = time.monotonic() + KILL_WAIT
    while any(running(pid) for pid in roots) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


def _parents() -> dict[int, int]:
    """The parent of every process on the host."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        parents[int(entry)] = int(stat[stat.rindex(b")") + 2 :].split()[1])
    return parents


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, ppid in _parents().items():
        children.setdefault(ppid, []).append(pid)
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _pid_namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def exec_roots(inits: list[int]) -> list[int]:
    """Processes in the PID namespace of a container process in `inits` whose parent is not:
    those an exec entered into the container (the others descend from its init)."""
    namespaces = {_pid_namespace(pid) for pid in inits} - {None}
    if not namespaces:
        return []
    parents = _parents()
    namespace_of = {pid: _pid_namespace(pid) for pid in parents}
    # A parent gone since the listing is taken for one inside: better miss an exec than kill
    # a process of the sandbox's own.
    return [
        pid
        for pid, ppid in parents.items()
        if pid not in inits
        and namespace_of[pid] in namespaces
        and (namespace_of.get(ppid) or namespace_of[pid]) != namespace_of[pid]
    ]


def running(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2 :].split()[0] not in (b"Z", b"X")
