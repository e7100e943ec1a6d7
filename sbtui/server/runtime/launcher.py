"""How a swarm sandbox's command and its execs start, where a service can't say what a local
container's create does: no new privileges, and (with an allowlist) a network namespace fenced
before anything of the sandbox's runs.

Docker 20.10's service spec has no security options, and a service can't join a namespace made
beforehand. So every process sbtui starts in a swarm sandbox goes through the node's static
busybox (busybox-static), mounted read-only into the container: `setpriv --nnp` sets
no-new-privileges (inherited by all it runs, as the engine's option would be), then a shell looks
the command up in PATH and execs it, with its own argv[0]. The shell does the lookup because
busybox would run its own applet of a name (ls, sleep...) rather than the image's program; a
command not found ends it at once with the engine's words and 127. What the shell adds to the
environment (SHLVL, PWD) goes before the exec: the command gets the environment it was given.

The sandbox's command also waits behind a gate: the shell, once it has found the command, waits
for SIGUSR1, which the node's agent sends when the create asks (open_gate, on the node), after
setting the firewall in the container's namespace for a sandbox with an allowlist. So nothing of
the sandbox's runs before its firewall, and a command not found fails the create, as a local
engine's create fails.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

from sbtui.server.runtime.base import EngineError

SOURCE = "/bin/busybox"  # on each node
TARGET = "/.sbtui-gate/busybox"  # named so: busybox runs the applet its name says

_FIND = (
    'case "$1" in */*) c=$1; [ -f "$c" ] && [ -x "$c" ] || '
    '{ echo "exec: \\"$1\\": stat $1: no such file or directory" >&2; exit 127; };; '
    "*) c=; IFS=:; for d in $PATH; do "
    'if [ -z "$c" ] && [ -f "$d/$1" ] && [ -x "$d/$1" ]; then c=$d/$1; fi; done; unset IFS; [ -n "$c" ] || '
    '{ echo "exec: \\"$1\\": executable file not found in \\$PATH" >&2; exit 127; };; esac; '
)
_WAIT = 'trap "go=1" USR1; until [ -n "$go" ]; do ' + TARGET + " sleep 0.01; done; trap - USR1; "
_EXEC = 'unset SHLVL PWD OLDPWD; p=$1; shift; exec -a "$p" "$c" "$@"'
_USR1_BIT = 1 << (signal.SIGUSR1 - 1)
GATE_WAIT = 5.0  # seconds for the gate's shell to be ready for the signal


def launched(argv: list[str], gated: bool = False) -> list[str]:
    """The command line that runs `argv` with no new privileges (behind the gate if `gated`)."""
    script = _FIND + (_WAIT if gated else "") + _EXEC
    return [TARGET, "setpriv", "--nnp", TARGET, "sh", "-c", script, "sbtui", *argv]


def mount() -> dict:
    return {"Type": "bind", "Source": SOURCE, "Target": TARGET, "ReadOnly": True}


def _in_shell(argv: list[bytes]) -> bool:
    return argv[:3] == [TARGET.encode(), b"sh", b"-c"]


def _launching(argv: list[bytes]) -> bool:
    """The launcher's command line: setpriv, then (its exec) the shell; not yet the command's."""
    return argv[:2] == [TARGET.encode(), b"setpriv"] or _in_shell(argv)


def _not_yet_run(argv: list[bytes]) -> bool:
    """runc's init: the container's first process before it has run the launcher. The engine
    says a container runs once runc has let its init go on, a moment before that exec: under
    load a create's gate can come first."""
    return argv[1:2] == [b"init"] and argv[0].rsplit(b"/", 1)[-1] == b"runc"


def _on_its_way(cmdline: bytes) -> bool:
    """Whether a first process with this command line has not yet reached the sandbox's command:
    runc's init, the launcher, or between the two. In the middle of an exec the kernel shows no
    command line at all (the new program's is set last), as it does for a process that has ended
    and not yet been reaped: the gate waits until it shows which."""
    if not cmdline:
        return True
    argv = cmdline.split(b"\0")
    return _launching(argv) or _not_yet_run(argv)


def behind_gate(pid: int) -> bool:
    """Whether the container whose first process is `pid` has not yet passed its gate."""
    try:
        return _on_its_way(Path(f"/proc/{pid}/cmdline").read_bytes())
    except OSError:
        return False


async def open_gate(pid: int) -> None:
    """Let the gated command of the container whose first process is `pid` (a host pid) start:
    SIGUSR1 once its shell handles that signal (before, the kernel drops a signal to a
    namespace's first process that has no handler for it)."""
    status, cmdline = Path(f"/proc/{pid}/status"), Path(f"/proc/{pid}/cmdline")
    deadline = time.monotonic() + GATE_WAIT
    while True:
        try:
            shown = cmdline.read_bytes()
            lines = status.read_text().splitlines()
            caught = next(int(line.split()[1], 16) for line in lines if line.startswith("SigCgt:"))
        except (OSError, StopIteration, ValueError, IndexError):
            raise EngineError(f"the sandbox's first process ({pid}) is gone") from None
        # Until setpriv has run the shell, the process is still setpriv: wait for the shell.
        if _in_shell(shown.split(b"\0")) and caught & _USR1_BIT:
            os.kill(pid, signal.SIGUSR1)
            return
        if not _on_its_way(shown):
            raise EngineError(f"the sandbox's first process ({pid}) is not waiting behind its gate")
        if time.monotonic() > deadline:
            raise EngineError(f"the sandbox's gate was not ready within {GATE_WAIT:g} s")
        await asyncio.sleep(0.005)
