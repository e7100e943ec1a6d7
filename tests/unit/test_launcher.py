"""The gate of a swarm sandbox's command (runtime/launcher.py), on host processes whose command
lines are those a container's first process has on its way: runc's init, then the launcher's
shell waiting for SIGUSR1, then the command."""

from __future__ import annotations

import os
import subprocess

from sbtui.server.runtime import launcher
from tests.servers import until

# What the launcher's shell runs once the gate opens: its busybox is the node's, at TARGET in
# the container and at /bin/busybox here (its own waits between looks fail there; it looks again).
SCRIPT = launcher._FIND + launcher._WAIT + launcher._EXEC


async def test_a_gate_opened_before_runc_has_run_the_launcher_is_opened_once_it_has(tmp_path):
    """The engine says a container runs a moment before runc's init execs its first program. A
    create's gate found it still `runc init`: taken for opened already, it was never opened and
    the sandbox ran silent for ever (a CI run's line never printed)."""
    said = tmp_path / "said"
    command = "sh -c 'echo opened > \"$SAID\"'"
    (tmp_path / "init").write_text(
        f'sleep 0.3\nexec -a {launcher.TARGET} /bin/busybox sh -c "$GATE" sbtui {command}\n'
    )
    env = {"PATH": os.environ["PATH"], "GATE": SCRIPT, "SAID": str(said)}
    # bash running the file "init", as "runc": a command line of ["runc", "init"].
    first = subprocess.Popen(
        ["runc", "init"], executable="/bin/bash", cwd=tmp_path, env=env, stderr=subprocess.DEVNULL
    )
    try:
        assert launcher.behind_gate(first.pid), "runc's init is taken for a gate already passed"
        await launcher.open_gate(first.pid)
        # (The file is there, empty, a moment before the echo writes to it.)
        opened = lambda: said.exists() and said.read_text() == "opened\n"  # noqa: E731
        await until(opened, 10, "the command to run once its gate opens")
        assert first.wait(10) == 0
        assert not launcher.behind_gate(first.pid)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
