"""The gate of a swarm sandbox's command (runtime/launcher.py), on host processes whose command
lines are those a container's first process has on its way: runc's init, then none (in the
middle of an exec), then the launcher's shell waiting for SIGUSR1, then the command."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

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
        f'read -r _\nexec -a {launcher.TARGET} /bin/busybox sh -c "$GATE" sbtui {command}\n'
    )
    env = {"PATH": os.environ["PATH"], "GATE": SCRIPT, "SAID": str(said)}
    # bash running the file "init", as "runc": a command line of ["runc", "init"] until it is
    # told to exec the launcher's shell.
    first = subprocess.Popen(
        ["runc", "init"],
        executable="/bin/bash",
        cwd=tmp_path,
        env=env,
        stdin=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert first.stdin is not None
    try:
        assert launcher.behind_gate(first.pid), "runc's init is taken for a gate already passed"
        opening = asyncio.create_task(launcher.open_gate(first.pid))
        first.stdin.write(b"go\n")
        first.stdin.flush()
        await asyncio.wait_for(opening, 10)
        # (The file is there, empty, a moment before the echo writes to it.)
        opened = lambda: said.exists() and said.read_text() == "opened\n"  # noqa: E731
        await until(opened, 10, "the command to run once its gate opens")
        assert first.wait(10) == 0
        assert not launcher.behind_gate(first.pid)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()


# A process that shows no command line, as the kernel shows none in the middle of an exec, until
# it is told to exec the launcher's shell: prctl(PR_SET_MM, PR_SET_MM_MAP) gives its memory map
# back as /proc/self/stat says it is, but for its arguments' end, set to their start.
BLANKED = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.sbrk.restype = ctypes.c_void_p
fields = open("/proc/self/stat").read().rsplit(")", 1)[1].split()
at = lambda n: int(fields[n - 3])  # the nth field of proc(5)'s /proc/pid/stat
names = "start_code end_code start_data end_data start_brk brk start_stack arg_start arg_end"
class Map(ctypes.Structure):  # struct prctl_mm_map
    _fields_ = [(n, ctypes.c_uint64) for n in (names + " env_start env_end auxv").split()]
    _fields_ += [("auxv_size", ctypes.c_uint32), ("exe_fd", ctypes.c_uint32)]
mm = Map(at(26), at(27), at(45), at(46), at(47), libc.sbrk(0), at(28), at(48), at(48), at(50), at(51))
mm.exe_fd = 0xFFFFFFFF  # keep it
if libc.prctl(35, 14, ctypes.byref(mm), ctypes.sizeof(mm), 0):
    print("prctl(PR_SET_MM_MAP) failed:", os.strerror(ctypes.get_errno()), flush=True)
    sys.exit(1)
print("blank", flush=True)
sys.stdin.readline()
os.execv("/bin/busybox", sys.argv[1:])
"""


async def test_a_gate_opened_in_the_middle_of_runcs_exec_is_opened_once_it_is_done(tmp_path):
    """In the middle of runc's exec of the launcher the kernel shows no command line: under load
    a create's gate that looked then took the empty line for a command already past its gate,
    and the sandbox's command never ran (a swarm sandbox of a CI run never ended)."""
    said = tmp_path / "said"
    command = ["sh", "-c", 'echo opened > "$SAID"']
    env = {"PATH": os.environ["PATH"], "SAID": str(said)}
    first = subprocess.Popen(
        [sys.executable, "-c", BLANKED, launcher.TARGET, "sh", "-c", SCRIPT, "sbtui", *command],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert first.stdin is not None and first.stdout is not None
    try:
        assert first.stdout.readline() == b"blank\n"
        assert Path(f"/proc/{first.pid}/cmdline").read_bytes() == b""
        assert launcher.behind_gate(first.pid), "a process mid-exec is taken for a gate already passed"
        opening = asyncio.create_task(launcher.open_gate(first.pid))
        first.stdin.write(b"go\n")
        first.stdin.flush()
        await asyncio.wait_for(opening, 10)
        opened = lambda: said.exists() and said.read_text() == "opened\n"  # noqa: E731
        await until(opened, 10, "the command to run once its gate opens")
        assert first.wait(10) == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
