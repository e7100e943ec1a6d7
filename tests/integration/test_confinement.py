"""A sandbox stays in its box: no mounts, namespaces (user namespaces included), keyrings,
kernel knobs, modules or raw sockets; no extra capabilities; a bounded process count; no view of
other sandboxes."""

from __future__ import annotations

import asyncio
import errno
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest

import sbtui
from sbtui.server.runtime import busybox_image
from tests.servers import IMAGE, ServerProcess, new_state_dir
from tests.static_programs import install

# A directory holding a runnable bin/true (a chroot target, a mount point, a place for a device
# node): this one in the sandbox, a temporary one on the host.
SANDBOX_DIR = "/tmp/work"
SANDBOX_SETUP = (
    f"mkdir -p {SANDBOX_DIR}/bin && cp /bin/busybox {SANDBOX_DIR}/bin/true && {SANDBOX_DIR}/bin/true"
)


async def _run(sb, script: str) -> tuple[int, bytes]:
    p = await sb.exec(["sh", "-c", script])
    out = await p.stdout.read() + await p.stderr.read()
    return await asyncio.wait_for(p.wait(), 60), out


def _outcome(code: int) -> str:
    return "success" if code == 0 else errno.errorcode.get(code, f"exit status {code}")


def _on_the_host(program: Path, args: list[str]) -> tuple[int, bytes]:
    done = subprocess.run([str(program), *args], check=False, capture_output=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


class Attempt(NamedTuple):
    program: str
    args: list[str]  # "{dir}" is the directory holding bin/true
    refused: int  # the errno in a sandbox
    on_the_host: set[int]  # what the same call gives on the host (the tests run as root)


ATTEMPTS = {
    # A user keyring belongs to a uid: allowed, these would reach the host root's keyring.
    "keyctl": Attempt("keyring", ["keyctl"], errno.EPERM, {0}),
    "add_key": Attempt("keyring", ["add_key"], errno.EPERM, {0}),
    "request_key": Attempt("keyring", ["request_key"], errno.EPERM, {errno.ENOKEY}),
    "chroot": Attempt("chroot", ["{dir}", "/bin/true"], errno.EPERM, {0}),
    "mount": Attempt("mount", ["{dir}"], errno.EPERM, {0}),
    "unshare mount namespace": Attempt("unshare", ["mount"], errno.EPERM, {0}),
    # A user namespace needs no capability: only the seccomp profile stops this.
    "unshare user namespace": Attempt("unshare", ["user"], errno.EPERM, {0}),
    # The kernel checks the right to load before the module (EBADF, ENOEXEC), or has no
    # modules at all (ENOSYS): EPERM is the defence's.
    "finit_module": Attempt("load_module", ["finit"], errno.EPERM, {errno.EBADF, errno.ENOSYS}),
    "init_module": Attempt("load_module", ["init"], errno.EPERM, {errno.ENOEXEC, errno.ENOSYS}),
    "packet socket": Attempt("raw_socket", ["packet"], errno.EPERM, {0}),
    "raw IP socket": Attempt("raw_socket", ["inet"], errno.EPERM, {0}),
    "mknod": Attempt("mknod", ["{dir}/null"], errno.EPERM, {0}),
    "write /proc/sys": Attempt("open_for_writing", ["/proc/sys/kernel/core_pattern"], errno.EROFS, {0}),
    "write /sys": Attempt("open_for_writing", ["/sys/kernel/profiling"], errno.EROFS, {0}),
}


@pytest.mark.parametrize("what", list(ATTEMPTS))
async def test_privileged_operations_fail(sandbox, programs, tmp_path, what):
    attempt = ATTEMPTS[what]
    program = programs / attempt.program
    # The control: on the host the same call succeeds, or fails for another reason.
    (tmp_path / "bin").mkdir()
    shutil.copy(busybox_image.find_busybox(), tmp_path / "bin" / "true")
    code, out = _on_the_host(program, [a.format(dir=tmp_path) for a in attempt.args])
    assert code in attempt.on_the_host, f"{what} on the host gave {_outcome(code)}: {out!r}"

    path = await install(sandbox, program)
    code, out = await _run(sandbox, SANDBOX_SETUP)  # the chroot target's /bin/true runs
    assert code == 0, out
    p = await sandbox.exec([path, *(a.format(dir=SANDBOX_DIR) for a in attempt.args)])
    out = await p.stdout.read() + await p.stderr.read()
    code = await asyncio.wait_for(p.wait(), 60)
    assert code == attempt.refused, (
        f"{what} inside a sandbox gave {_outcome(code)}, not {_outcome(attempt.refused)}: {out!r}"
    )


async def test_clone_into_a_new_user_namespace_fails(sandbox, programs):
    # Made directly, as a C library or a runtime would without unshare(2).
    code, out = _on_the_host(programs / "clone_newuser", [])
    assert code == 0, f"clone(CLONE_NEWUSER) on the host gave {_outcome(code)}: {out!r}"
    path = await install(sandbox, programs / "clone_newuser")
    code, out = await _run(sandbox, path)
    assert code == errno.EPERM, f"clone(CLONE_NEWUSER) inside a sandbox gave {_outcome(code)}: {out!r}"
    # clone without the flag (every fork) still works: only user namespaces are refused.
    code, out = await _run(sandbox, "sleep 0 & wait $!; echo forked")
    assert (code, out) == (0, b"forked\n")


async def test_no_extra_capabilities_and_no_new_privileges(sandbox):
    code, out = await _run(sandbox, "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status")
    fields = dict(line.split(":\t") for line in out.decode().splitlines())
    allowed = 0
    # CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE SETFCAP:
    # not SYS_CHROOT (18), nor NET_RAW (13) or MKNOD (27), which Docker would add.
    for bit in (0, 1, 3, 4, 5, 6, 7, 8, 10, 31):
        allowed |= 1 << bit
    assert int(fields["CapBnd"], 16) == allowed, out
    assert int(fields["CapEff"], 16) == allowed, out
    assert fields["NoNewPrivs"].strip() == "1"
    assert fields["Seccomp"].strip() == "2"  # filter mode: the engine's default profile


async def test_fork_bomb_is_contained(client, app, image):
    # Half a core, so the bomb can't take the machine's CPUs either.
    sb = await client.sandboxes.create(app, image, cpu_limit=0.5)
    try:
        # Only shell builtins after the bomb starts: forking is what runs out.
        script = (
            "f=/sys/fs/cgroup/pids/pids.current; [ -e $f ] || f=/sys/fs/cgroup/pids.current; "
            "bomb() { bomb | bomb & }; bomb; "
            "i=0; while [ $i -lt 500000 ]; do read n < $f; [ $n -ge 1000 ] && break; i=$((i+1)); done; "
            "echo peak=$n"
        )
        p = await sb.exec(["sh", "-c", script])
        out = await asyncio.wait_for(p.stdout.read(), 120)
        peak = int(out.decode().strip().rsplit("=", 1)[1])
        assert 1000 <= peak <= 1024, out
        # The server still answers, and the sandbox ends when told to.
        assert await sb.poll() is None
    finally:
        assert await asyncio.wait_for(sb.terminate(wait=True), 60) == 137


async def test_sandboxes_do_not_see_each_other(client, app, image):
    a = await client.sandboxes.create(app, image, command=["sh", "-c", "echo secret-a > /tmp/a; sleep 600"])
    b = await client.sandboxes.create(app, image)
    try:
        code, out = await _run(a, "while [ ! -s /tmp/a ]; do sleep 0.05; done; cat /tmp/a")
        assert out == b"secret-a\n"
        code, out = await _run(b, "ls /tmp; ps -o args")
        assert b"secret-a" not in out and b"/tmp/a" not in out
        assert b"sleep 600" not in out  # a's main command is not among b's processes
        code, out = await _run(b, "cat /tmp/a")
        assert code != 0
    finally:
        await a.terminate()
        await b.terminate()


async def test_exceeding_the_memory_limit_says_out_of_memory(client, app, image):
    from sbtui.client import TerminationReason

    sb = await client.sandboxes.create(
        app,
        image,
        memory_limit_mib=16,
        command=["sh", "-c", "x=$(head -c 64000000 /dev/zero | tr '\\0' a); echo survived"],
    )
    assert await asyncio.wait_for(sb.wait(), 60) == 137
    info = await sb.refresh()
    assert info.termination_reason == TerminationReason.OUT_OF_MEMORY


async def test_sandboxes_running_out_of_memory_at_once_each_say_so(client, app, image):
    # Docker's OOMKilled missed some of these: it drops an OOM event that it hears after the
    # container has gone (Transitions.finish).
    from sbtui.client import TerminationReason

    hog = ["sh", "-c", "x=$(head -c 64000000 /dev/zero | tr '\\0' a); echo survived"]
    sbs = await asyncio.gather(
        *(client.sandboxes.create(app, image, memory_limit_mib=16, command=hog) for _ in range(8))
    )
    waits = [asyncio.ensure_future(sb.wait()) for sb in sbs]
    _, pending = await asyncio.wait(waits, timeout=90)
    for waiting in pending:
        waiting.cancel()
    stuck = [await sb.refresh() for sb, waiting in zip(sbs, waits) if waiting in pending]
    assert not stuck, f"not ended within 90 s: {[(i.sandbox_id, i.state.name, i.node) for i in stuck]}"
    assert [waiting.result() for waiting in waits] == [137] * 8
    reasons = [(await sb.refresh()).termination_reason for sb in sbs]
    assert reasons == [TerminationReason.OUT_OF_MEMORY] * 8


async def test_running_out_of_memory_leaves_nothing_where_the_server_was_started(engine, tmp_path):
    # Podman's conmon wrote an empty file named `oom` into the server's working directory.
    server = ServerProcess(engine, new_state_dir(f"{engine}-oom"), cwd=tmp_path).start()
    try:
        async with sbtui.Client.connect(server.address) as client:
            app = await client.apps.from_name("oom", create_if_missing=True)
            hog = ["sh", "-c", "x=$(head -c 64000000 /dev/zero | tr '\\0' a)"]
            sb = await client.sandboxes.create(
                app, client.images.from_registry(IMAGE), memory_limit_mib=16, command=hog
            )
            assert await asyncio.wait_for(sb.wait(), 60) == 137
    finally:
        server.dispose()
    assert list(tmp_path.iterdir()) == []
