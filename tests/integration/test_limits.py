"""The operator's limits: each one reached by a sandbox that asks for nothing, and the host
untouched. One server per engine with small limits (`sbtui server --default-memory ...`)."""

from __future__ import annotations

import asyncio
import errno
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import sbtui
from sbtui.client import InvalidArgumentError, SandboxState, SbtuiError, TerminationReason
from tests import engine_view
from tests.servers import IMAGE, ROOT, ServerProcess, new_state_dir, until
from tests.static_programs import install

DEFAULT_MEMORY_MIB = 64
MAX_MEMORY_MIB = 512
PIDS = 64
OPEN_FILES = 256
DISK = 128 << 20
LOG = 1 << 20
LIMITS = [
    "--default-memory",
    f"{DEFAULT_MEMORY_MIB}Mi",
    "--max-memory",
    f"{MAX_MEMORY_MIB}Mi",
    "--pids-limit",
    str(PIDS),
    "--open-files",
    str(OPEN_FILES),
    "--disk-limit",
    f"{DISK >> 20}Mi",
    "--log-limit",
    f"{LOG >> 20}Mi",
]


@pytest.fixture(scope="module")
def limited(engine):
    proc = ServerProcess(engine, new_state_dir(engine + "-limits"), extra=LIMITS).start()
    yield proc
    proc.dispose()


@pytest.fixture
async def client(limited):
    async with sbtui.Client.connect(limited.address) as c:
        yield c


@pytest.fixture
async def app(client):
    return await client.apps.from_name("limits", create_if_missing=True)


@pytest.fixture
def image(client):
    return client.images.from_registry(IMAGE)


async def _run(sb, script: str, timeout: float = 120) -> tuple[int, bytes]:
    p = await sb.exec(["sh", "-c", script])
    out = await p.stdout.read() + await p.stderr.read()
    return await asyncio.wait_for(p.wait(), timeout), out


# ---- memory ---------------------------------------------------------------------------------

# About 100 MB in a shell variable: more than the default limit, well below the maximum.
ALLOCATE = "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived"


async def test_memory_with_no_request_ends_out_of_memory_under_the_default(client, app, image):
    sb = await client.sandboxes.create(
        app, image, command=["sh", "-c", f"while [ ! -e /tmp/go ]; do sleep 0.05; done; {ALLOCATE}"]
    )
    code, out = await _run(
        sb,
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes "
        "2>/dev/null || cat /sys/fs/cgroup/memory.max; touch /tmp/go",
    )
    assert out.strip() == str(DEFAULT_MEMORY_MIB << 20).encode()
    assert await asyncio.wait_for(sb.wait(), 60) == 137
    assert (await sb.refresh()).termination_reason == TerminationReason.OUT_OF_MEMORY
    # Control: the same command with room enough, asked for, runs to its end.
    roomy = await client.sandboxes.create(
        app, image, memory_limit_mib=MAX_MEMORY_MIB, command=["sh", "-c", ALLOCATE]
    )
    assert await asyncio.wait_for(roomy.wait(), 60) == 0
    assert (await roomy.refresh()).termination_reason == TerminationReason.EXITED


@pytest.mark.parametrize("field", ["memory_limit_mib", "memory_mib"])
async def test_a_create_above_the_maximum_is_refused_by_name(limited, client, app, image, field):
    # Some may be going: sandboxes of earlier tests.
    before = {c["id"] for c in await engine_view.labelled(limited)}
    listed = {s.sandbox_id async for s in client.sandboxes.list(app_id=app.app_id)}
    with pytest.raises(InvalidArgumentError) as refused:
        await client.sandboxes.create(app, image, **{field: MAX_MEMORY_MIB + 1})
    assert refused.value.field == field
    message = str(refused.value)
    assert (
        message.startswith(f"{field}: {MAX_MEMORY_MIB + 1} MiB")
        and f"at most {MAX_MEMORY_MIB} MiB" in message
    )
    # Nothing behind: no sandbox record, no container.
    assert {s.sandbox_id async for s in client.sandboxes.list(app_id=app.app_id)} == listed
    assert {c["id"] for c in await engine_view.labelled(limited)} <= before


# ---- processes ------------------------------------------------------------------------------


async def test_processes_stop_at_the_pids_limit(client, app, image):
    # Half a core, so the bomb can't take the machine's CPUs either.
    sb = await client.sandboxes.create(app, image, timeout=120, cpu_limit=0.5)
    try:
        # Only shell builtins after the bomb starts: forking is what runs out. The bomb starts
        # in a subshell of its own, forked before any of it runs: a shell that can't fork exits
        # (code 2), so the watching shell must not fork again once the bomb is going. The most
        # processes seen at once over 20000 looks is at the limit, never past it.
        script = (
            "f=/sys/fs/cgroup/pids/pids.current; [ -e $f ] || f=/sys/fs/cgroup/pids.current; "
            "bomb() { bomb | bomb & }; (bomb) & "
            "i=0; m=0; while [ $i -lt 20000 ]; do read n < $f; [ $n -gt $m ] && m=$n; i=$((i+1)); done; "
            "echo peak=$m"
        )
        p = await sb.exec(["sh", "-c", script])
        out, err = await asyncio.wait_for(asyncio.gather(p.stdout.read(), p.stderr.read()), 120)
        if b"peak=" not in out:
            try:
                ended = f"exit code {await p.wait()}"
            except SbtuiError as error:
                ended = str(error)
            pytest.fail(f"the script did not finish: {ended}; its stdout {out!r}, stderr {err[-800:]!r}")
        peak = int(out.decode().strip().rsplit("=", 1)[1])
        assert PIDS - 8 <= peak <= PIDS, out  # the bomb's processes come and go near the top
    finally:
        assert await asyncio.wait_for(sb.terminate(wait=True), 60) == 137


# ---- open files -----------------------------------------------------------------------------

CHILDREN = 8


def _report(out: bytes) -> tuple[list[tuple[int, int]], int]:
    lines = out.decode().split("\n")
    children = [tuple(map(int, line.split()[1:])) for line in lines if line.startswith("child ")]
    grew = next(int(line.split()[1]) for line in lines if line.startswith("grew "))
    return children, grew


async def test_open_files_stop_at_the_limit_and_the_host_table_barely_grows(client, app, image, programs):
    cap = 4 * OPEN_FILES  # what each child tries to open
    # Control: on the host, allowed more than `cap`, each child opens `cap` files and the
    # program sees the host's table grow by all of them.
    limit = cap + 64
    # Its limit set by prlimit, not a preexec_fn: Python run in the forked child runs gRPC's
    # after-fork handlers, which can abort it while this process's channels are busy.
    host = subprocess.run(
        ["prlimit", f"--nofile={limit}:{limit}", "--", str(programs / "open_files"), str(CHILDREN), str(cap)],
        capture_output=True,
        timeout=60,
    )
    assert host.returncode == 0, (host.returncode, host.stderr)  # the control itself ran
    children, grew = _report(host.stdout)
    assert children == [(cap, 0)] * CHILDREN, host.stdout
    assert grew >= CHILDREN * cap * 0.9, host.stdout

    sb = await client.sandboxes.create(app, image, timeout=120)
    await install(sb, programs / "open_files")
    code, out = await _run(sb, f"ulimit -n; /tmp/open_files {CHILDREN} {cap}")
    assert code == 0, out
    children, grew = _report(out)
    assert len(children) == CHILDREN, out
    # The sandbox's processes together held no more than the limit allows (with a margin
    # for whatever else the host did in those milliseconds) ...
    assert grew <= CHILDREN * OPEN_FILES + 512, out
    # ... each stopped by EMFILE at the limit (with stdin, stdout, stderr and its report pipe
    # open already).
    for opened, err in children:
        assert err == errno.EMFILE and OPEN_FILES - 8 <= opened <= OPEN_FILES - 3, out
    assert out.split(b"\n")[0] == str(OPEN_FILES).encode()  # ulimit -n
    await sb.terminate()


# ---- disk -----------------------------------------------------------------------------------


async def _writer(client, app, image, target: str):
    """A sandbox whose main command writes four times the disk limit to `target` once told to
    (the main command, not an exec: Podman leaves an exec's conmon behind when its container
    is removed under it), then stays: only the limit ends it, even when the write is done
    before the server's next measure (a loaded machine)."""
    return await client.sandboxes.create(
        app,
        image,
        timeout=300,
        command=[
            "sh",
            "-c",
            (
                "while [ ! -e /tmp/go ]; do sleep 0.05; done; "
                f"dd if=/dev/zero of={target} bs=1M count={4 * (DISK >> 20)}; sleep 600"
            ),
        ],
    )


async def _go(sb) -> None:
    code, out = await _run(sb, "touch /tmp/go")
    assert code == 0, out


async def _wait_finished(sb, timeout: float):
    await asyncio.wait_for(sb.wait(), timeout)
    return await sb.refresh()


@pytest.mark.parametrize("target", ["/tmp/fill", "/etc/hosts"])
async def test_writing_past_the_disk_limit_ends_the_sandbox(limited, client, app, image, target):
    sb = await _writer(client, app, image, target)
    container = engine_view.container(limited, sb.sandbox_id)
    layer, hosts = container["GraphDriver"]["Data"]["UpperDir"], container["HostsPath"]
    await _go(sb)
    info = await _wait_finished(sb, 120)
    assert info.termination_reason == TerminationReason.DISK_LIMIT
    assert info.exit_code == 137
    # What it wrote was on the host's disk, measured there by the server ...
    wrote = re.search(
        rf"sandbox {sb.sandbox_id} wrote (\d+) bytes \([\d.]+ MiB\) outside its "
        rf"volumes, past the disk limit of {DISK >> 20} MiB",
        limited.log_text(),
    )
    assert wrote and int(wrote.group(1)) > DISK, limited.log_text()[-2000:]
    # ... and leaves it with its container: no file of it is left to hold the space.
    await until(
        lambda: not os.path.exists(layer) and not os.path.exists(hosts),
        30,
        "the sandbox's writable layer to be removed",
    )


async def test_the_disk_limit_is_per_sandbox(client, app, image):
    near = 3 * (DISK >> 20) // 4  # MiB: each under the limit, both together over it
    a = await _writer(client, app, image, "/tmp/more")
    b = await client.sandboxes.create(app, image, timeout=300)
    for sb in (a, b):
        code, out = await _run(sb, f"dd if=/dev/zero of=/tmp/fill bs=1M count={near} && sync")
        assert code == 0, out
    # b also links its file again, and to a symlink of the host's root: neither counts more.
    code, out = await _run(b, "ln /tmp/fill /tmp/again && ln -s / /tmp/host-root")
    assert code == 0, out
    await _go(a)
    info = await _wait_finished(a, 120)
    assert info.termination_reason == TerminationReason.DISK_LIMIT
    assert (await b.refresh()).state == SandboxState.RUNNING
    code, out = await _run(b, "ls -l /tmp/fill /tmp/again")
    assert code == 0, out
    await b.terminate()


async def test_the_disk_limit_holds_after_a_restart(limited, client, app, image):
    sb = await _writer(client, app, image, "/tmp/fill")
    limited.stop()
    limited.start()
    async with sbtui.Client.connect(limited.address) as again:
        sb = await again.sandboxes.from_id(sb.sandbox_id)
        assert sb.info.state == SandboxState.RUNNING
        await _go(sb)
        info = await _wait_finished(sb, 120)
        assert info.termination_reason == TerminationReason.DISK_LIMIT


# ---- output log ------------------------------------------------------------------------------

LINE = "0123456789" * 10  # 101 bytes a line with its newline
OUTPUT = 20_000_000


def _log_files(log_path: str) -> list[Path]:
    """The engine's log of a container and the files it rotated out (Docker: PATH.1)."""
    path = Path(log_path)
    return [f for f in path.parent.iterdir() if f.name == path.name or f.name.startswith(path.name + ".")]


def _cli_logs(server: ServerProcess, sandbox_id: str) -> bytes:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sbtui",
            "--server",
            server.address,
            "sandbox",
            "logs",
            "--tail",
            "2",
            sandbox_id,
        ],
        capture_output=True,
        timeout=60,
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k not in ("SBTUI_SERVER", "SBTUI_TOKEN")},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_output_fills_no_more_disk_than_the_log_limit(limited, client, app, image):
    sb = await client.sandboxes.create(
        app,
        image,
        timeout=300,
        command=[
            "sh",
            "-c",
            f"yes {LINE} | head -c {OUTPUT}; echo; echo the-last-line; "
            "while [ ! -e /tmp/done ]; do sleep 0.1; done",
        ],
    )

    async def written():
        while not (await _tail(sb)).endswith(b"the-last-line\n"):
            await asyncio.sleep(0.2)

    await asyncio.wait_for(written(), 120)
    log_path = engine_view.log_path(limited, sb.sandbox_id)
    files = _log_files(log_path)
    on_disk = sum(f.stat().st_size for f in files)
    # At most the limit: Docker's json-file may pass a file's half by one entry before it
    # rotates; Podman's k8s-file starts anew before it would pass the limit.
    assert on_disk <= LOG + 16 * 1024, (files, on_disk)
    assert b"the-last-line\n" in _cli_logs(limited, sb.sandbox_id)
    code, _ = await _run(sb, "touch /tmp/done")
    assert await asyncio.wait_for(sb.wait(), 60) == 0
    # Kept once the container is gone, from what the engine still had.
    assert _cli_logs(limited, sb.sandbox_id).endswith(b"the-last-line\n")


async def _tail(sb) -> bytes:
    out = b""
    async for chunk in sb.logs(tail=1):
        out += chunk.data
    return out
