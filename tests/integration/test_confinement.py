"""A sandbox stays in its box: no mounts, namespaces (user namespaces included), keyrings,
kernel knobs, modules or raw sockets; no extra capabilities; a bounded process count; no view of
other sandboxes."""

from __future__ import annotations

import asyncio
import platform
import struct

import pytest

EPERM = 1


async def _run(sb, script: str) -> tuple[int, bytes]:
    p = await sb.exec(["sh", "-c", script])
    out = await p.stdout.read() + await p.stderr.read()
    return await asyncio.wait_for(p.wait(), 60), out


@pytest.mark.parametrize(
    "what, script",
    [
        ("mount", "mkdir -p /mnt/x && mount -t tmpfs none /mnt/x"),
        ("unshare --mount", "unshare --mount true"),
        # A user namespace needs no capability: only the seccomp profile stops these.
        ("unshare --user", "unshare --user true"),
        ("unshare -U", "unshare -U true"),
        ("keyctl", "keyctl show"),
        ("write /proc/sys", "echo 1 > /proc/sys/kernel/sysrq"),
        ("write /sys", "echo 1 > /sys/kernel/profiling"),
        ("load a module", "modprobe dummy || insmod /nonexistent.ko"),
        ("raw socket", "arping -c 1 -w 1 -I lo 127.0.0.1"),
        ("mknod", "mknod /tmp/dev-null c 1 3"),
        ("chroot escape", "mkdir -p /tmp/r && chroot /tmp/r /bin/true"),
    ],
)
async def test_privileged_operations_fail(sandbox, what, script):
    code, out = await _run(sandbox, script)
    assert code != 0, f"{what} succeeded inside a sandbox: {out!r}"


def _clone_newuser_program() -> bytes:
    """A static x86-64 Linux program that calls clone(CLONE_NEWUSER | SIGCHLD) directly, the
    way a C library or a runtime would without unshare(2), and exits with 0 when the call
    succeeded or with its errno when it failed. The image has no compiler and no other tool
    that clones with namespace flags, so the program is assembled here."""
    code = bytes.fromhex(
        "b838000000"  # mov eax, 56            clone
        "bf11000010"  # mov edi, 0x10000011    CLONE_NEWUSER | SIGCHLD
        "31f6"        # xor esi, esi           no new stack: the child goes on as after fork
        "31d2"        # xor edx, edx           parent_tid
        "4d31d2"      # xor r10, r10           child_tid
        "4d31c0"      # xor r8, r8             tls
        "0f05"        # syscall
        "4885c0"      # test rax, rax
        "7905"        # jns ok                 0 in the child, its pid in the parent
        "48f7d8"      # neg rax                -errno becomes errno
        "eb02"        # jmp out
        "31c0"        # ok: xor eax, eax
        "89c7"        # out: mov edi, eax      exit status
        "b83c000000"  # mov eax, 60            exit
        "0f05"        # syscall
    )
    base, headers = 0x400000, 64 + 56
    elf = struct.pack(  # ELF64 header: executable, x86-64, entry right after the headers
        "<4sBBBBB7xHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0,
        2, 0x3E, 1, base + headers, 64, 0, 0, 64, 56, 1, 0, 0, 0,
    )
    size = headers + len(code)
    segment = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)  # PT_LOAD, r-x
    return elf + segment + code


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the clone program is x86-64 code")
async def test_clone_into_a_new_user_namespace_fails(sandbox):
    p = await sandbox.exec(["sh", "-c", "cat > /tmp/clone-newuser && chmod +x /tmp/clone-newuser"])
    p.stdin.write(_clone_newuser_program())
    p.stdin.close()
    assert await asyncio.wait_for(p.wait(), 60) == 0
    code, out = await _run(sandbox, "/tmp/clone-newuser")
    assert code == EPERM, f"clone(CLONE_NEWUSER) inside a sandbox gave {code}: {out!r}"
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
        app, image, memory_limit_mib=16,
        command=["sh", "-c", "x=$(head -c 64000000 /dev/zero | tr '\\0' a); echo survived"],
    )
    assert await asyncio.wait_for(sb.wait(), 60) == 137
    info = await sb.refresh()
    assert info.termination_reason == TerminationReason.OUT_OF_MEMORY
