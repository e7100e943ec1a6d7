"""Revoking a token ends every stream it opened within a second, whatever the stream is doing,
with UNAUTHENTICATED naming the revocation, and kills the processes of its exec sessions.

A TLS server per engine with an admin token; each test opens one kind of stream with a fresh
token scoped to the module's environment, waits until the stream is live and then silent (a
command that prints nothing, `cat` waiting on stdin, a PTY session, a log follow of a sandbox
that prints nothing more, a watch with no events), and has the admin revoke the token. The
stream must fail within DEADLINE of the revocation (the promise is 1 s; the rest is room for a
loaded machine), and an admin exec must then find the session's processes gone, by the pids
they wrote.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets as random
import time

import pytest

import sbtui
from sbtui.client import AuthenticationError, EventKind, Sandbox
from tests.integration.test_auth import serve_tls
from tests.servers import IMAGE, until

ADMIN = "admin-" + random.token_hex(24)
DEADLINE = 1.5


@pytest.fixture(scope="module")
def tls_server(engine):
    yield from serve_tls(engine, "revoke", ADMIN)


def connect(server, token: str):
    return sbtui.Client.connect(server.address, token, ca_cert=server.ca)


@dataclasses.dataclass
class Box:
    environment: str
    sandbox: Sandbox  # an admin handle on a sandbox that printed "started" and then nothing


@pytest.fixture(scope="module")
async def box(tls_server):
    environment = f"rev-{random.token_hex(3)}"
    async with connect(tls_server, ADMIN) as admin:
        app = await admin.apps.from_name("rev", create_if_missing=True, environment=environment)
        sb = await admin.sandboxes.create(
            app,
            admin.images.from_registry(IMAGE),
            timeout=600,
            command=["sh", "-c", "echo started; exec sleep 100000"],
        )
        yield Box(environment, sb)
        await sb.terminate()


@pytest.fixture
async def admin(tls_server):
    async with connect(tls_server, ADMIN) as client:
        yield client


@dataclasses.dataclass
class Doomed:
    client: sbtui.Client  # connected with a token scoped to the box's environment
    token_id: str
    sandbox: Sandbox  # the box, as this client's handle


@pytest.fixture
async def doomed(tls_server, box, admin):
    made = await admin.tokens.create(box.environment, description="to revoke")
    async with connect(tls_server, made.value) as client:
        yield Doomed(client, made.token_id, await client.sandboxes.from_id(box.sandbox.sandbox_id))
    if made.token_id in {t.token_id for t in await admin.tokens.list()}:
        await admin.tokens.revoke(made.token_id)  # the test failed before revoking it


async def ended_by_revocation(admin, doomed: Doomed, stream_end, what: str) -> float:
    """Revoke the doomed token, then await `stream_end()`, the next step of an open stream: it
    must fail with AuthenticationError naming the revocation within DEADLINE of the revoke call.
    Returns the time from the revoke call to the failure."""
    started = time.monotonic()
    await admin.tokens.revoke(doomed.token_id)
    waiting = asyncio.ensure_future(stream_end())
    done, _ = await asyncio.wait([waiting], timeout=DEADLINE - (time.monotonic() - started))
    elapsed = time.monotonic() - started
    if not done:
        waiting.cancel()
        pytest.fail(f"{what} was still open {elapsed:.2f} s after its token was revoked")
    with pytest.raises(AuthenticationError, match="token was revoked"):
        waiting.result()
    print(f"\nrevocation ended {what} in {elapsed * 1000:.0f} ms")
    return elapsed


async def admin_sh(box: Box, script: str) -> str:
    process = await box.sandbox.exec(["sh", "-c", script], text=True)
    out = await process.stdout.read()
    assert await process.wait() == 0, out
    return out.strip()


async def pids_written(box: Box, *files: str) -> list[str]:
    """The pids the session's processes wrote to `files`, once all are there."""
    script = "cat " + " ".join(files) + " 2>/dev/null; true"

    async def written():
        pids = (await admin_sh(box, script)).split()
        return pids if len(pids) == len(files) else None

    return await until(written, 10, f"the session's processes to write {files}")


async def assert_gone(box: Box, pids: list[str]) -> None:
    """Each pid is gone from the sandbox (or a zombie waiting for the engine to reap it)."""
    script = "; ".join(
        f's=$(cut -d" " -f3 /proc/{pid}/stat 2>/dev/null); echo {pid}=${{s:-gone}}' for pid in pids
    )

    async def gone():
        states = dict(line.split("=") for line in (await admin_sh(box, script)).split())
        return all(state in ("gone", "Z") for state in states.values()) or None

    await until(gone, 3, f"processes {pids} to be killed after the revocation")


def pid_files() -> tuple[str, str]:
    mark = random.token_hex(4)
    return f"/tmp/rev-{mark}-shell.pid", f"/tmp/rev-{mark}-child.pid"


async def test_a_silent_exec_ends_and_its_processes_are_killed(box, admin, doomed):
    shell, child = pid_files()
    process = await doomed.sandbox.exec(
        ["sh", "-c", f"echo $$ > {shell}; sleep 100000 & echo $! > {child}; wait"]
    )
    pids = await pids_written(box, shell, child)
    await ended_by_revocation(admin, doomed, process.wait, "a silent exec")
    await assert_gone(box, pids)


async def test_cat_waiting_on_stdin_ends_and_the_write_after_is_not_dropped(box, admin, doomed):
    shell, _ = pid_files()
    process = await doomed.sandbox.exec(["sh", "-c", f"echo $$ > {shell}; exec cat"])
    process.stdin.write(b"before\n")
    await process.stdin.drain()
    assert await process.stdout.readline() == b"before\n"
    pids = await pids_written(box, shell)

    async def write_then_read():
        # Written after the revocation: it must not vanish while the stream stays open; the
        # client learns the stream is over, with the error.
        process.stdin.write(b"after\n")
        await process.stdin.drain()
        return await process.stdout.readline()

    await ended_by_revocation(admin, doomed, write_then_read, "cat waiting on stdin")
    with pytest.raises(AuthenticationError, match="token was revoked"):
        await process.wait()
    # Input written once the stream has ended is refused with the reason, not dropped.
    with pytest.raises(AuthenticationError, match="token was revoked"):
        process.stdin.write(b"later\n")
        await process.stdin.drain()
    with pytest.raises(AuthenticationError, match="token was revoked"):
        process.stdin.write(b"again\n")
    await assert_gone(box, pids)


async def test_a_pty_session_ends_and_its_processes_are_killed(box, admin, doomed):
    shell, _ = pid_files()
    process = await doomed.sandbox.exec(["sh", "-c", f"echo $$ > {shell}; exec sleep 100000"], pty=True)
    pids = await pids_written(box, shell)
    await ended_by_revocation(admin, doomed, process.wait, "a PTY session")
    await assert_gone(box, pids)


async def test_a_log_follow_ends(box, admin, doomed):
    follow = doomed.sandbox.logs(follow=True)
    assert (await anext(follow)).data == b"started\n"
    await ended_by_revocation(admin, doomed, lambda: anext(follow), "a log follow")


async def test_a_watch_ends(box, admin, doomed):
    watch = doomed.client.sandboxes.watch()
    async with asyncio.timeout(30):
        while (await anext(watch)).kind != EventKind.SYNCED:
            pass
    await ended_by_revocation(admin, doomed, lambda: anext(watch), "a watch")
