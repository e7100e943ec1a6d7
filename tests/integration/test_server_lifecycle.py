"""Restarts, crashes and deadlines: the server loses nothing and clients never hang."""

from __future__ import annotations

import asyncio
import time

import pytest

import sbtui
from sbtui.client import ConnectionLostError, SandboxState, TerminationReason
from tests.servers import IMAGE, REPORTED, ServerProcess, new_state_dir


@pytest.fixture
def own_server(engine):
    proc = ServerProcess(engine, new_state_dir(engine + "-own")).start()
    yield proc
    proc.dispose()


async def _make(address, **params):
    async with sbtui.Client.connect(address) as client:
        app = await client.apps.from_name("life", create_if_missing=True)
        sb = await client.sandboxes.create(app, client.images.from_registry(IMAGE), **params)
        return sb.sandbox_id


async def _info(address, sandbox_id):
    async with sbtui.Client.connect(address) as client:
        return await (await client.sandboxes.from_id(sandbox_id)).refresh()


@pytest.mark.parametrize("how", ["graceful", "kill -9"])
async def test_restart_readopts_running_and_keeps_exit_codes(own_server, how):
    running = await _make(own_server.address, name="keeper", timeout=120)
    finished = await _make(own_server.address, command=["sh", "-c", "exit 5"])
    async with sbtui.Client.connect(own_server.address) as client:
        assert await (await client.sandboxes.from_id(finished)).wait() == 5
        sb = await client.sandboxes.from_id(running)
        await sb.set_tags({"stage": "before"})
    # Exits while the server is down must be found at restart.
    ends_while_down = await _make(own_server.address, command=["sh", "-c", "sleep 1; exit 3"])
    own_server.kill() if how == "kill -9" else own_server.stop()
    own_server.start()
    async with sbtui.Client.connect(own_server.address) as client:
        sb = await client.sandboxes.from_name("life", "keeper")
        assert sb.sandbox_id == running and sb.info.state == SandboxState.RUNNING
        assert await sb.get_tags() == {"stage": "before"}
        p = await sb.exec(["echo", "still here"])
        assert await p.stdout.read() == b"still here\n"
        assert await (await client.sandboxes.from_id(finished)).poll() == 5
        # Terminating what had ended before the restart answers at once, with its exit code.
        assert (
            await asyncio.wait_for((await client.sandboxes.from_id(finished)).terminate(wait=True), 10) == 5
        )
        assert await asyncio.wait_for((await client.sandboxes.from_id(ends_while_down)).wait(), 30) == 3
        assert await sb.terminate(wait=True) == 137


async def test_deadline_passed_while_down_is_enforced_at_restart(own_server):
    # The condition is the wall clock passing the sandbox's deadline while no server runs. The
    # timeout counts from the create's start: it leaves room for a create slowed by the suite
    # (one took 4.9 s on Podman, and its server, not the restarted one, ended it).
    sandbox_id = await _make(own_server.address, timeout=8)
    made = await _info(own_server.address, sandbox_id)
    own_server.kill()
    killed = time.time()
    assert made.state == SandboxState.RUNNING and killed < made.deadline - 0.5, (
        f"the create took {killed - made.created_at:.1f} s of the sandbox's 8 s timeout: its "
        "deadline was not left to pass while the server was down"
    )
    while time.time() < made.deadline + 0.5:
        await asyncio.sleep(0.1)
    own_server.start()
    back = time.time()
    async with sbtui.Client.connect(own_server.address) as client:
        sb = await client.sandboxes.from_id(sandbox_id)
        with pytest.raises(sbtui.client.SandboxTimeoutError):
            await asyncio.wait_for(sb.wait(), 15)
        seen = time.time()
        info = await sb.refresh()
        assert info.termination_reason == TerminationReason.TIMEOUT
    # Within 1 s of the server being back by the engine's record; the client told soon after.
    assert info.deadline < back and info.finished_at <= back + 1.0, info.finished_at - back
    assert seen <= info.finished_at + REPORTED, seen - info.finished_at


async def test_client_raises_when_the_server_dies_mid_call(own_server):
    sandbox_id = await _make(own_server.address, timeout=120)
    async with sbtui.Client.connect(own_server.address) as client:
        sb = await client.sandboxes.from_id(sandbox_id)
        p = await sb.exec(["sleep", "60"])  # started: the stream is open mid-call
        waiting = asyncio.create_task(sb.wait())
        own_server.kill()
        with pytest.raises(ConnectionLostError):
            await asyncio.wait_for(p.wait(), 15)
        with pytest.raises(ConnectionLostError):
            await asyncio.wait_for(waiting, 15)
        with pytest.raises(ConnectionLostError):
            await asyncio.wait_for(sb.poll(), 15)
    own_server.start()
    async with sbtui.Client.connect(own_server.address) as client:
        assert await (await client.sandboxes.from_id(sandbox_id)).terminate(wait=True) == 137


def test_a_second_server_on_the_same_state_dir_is_refused(own_server):
    out = ServerProcess(
        own_server.engine, own_server.state_dir, extra=["--socket", str(own_server.state_dir / "b.sock")]
    ).run_refused()
    assert out.returncode == 1
    assert f"another sbtui server (pid {own_server.process.pid}) is using" in out.stderr
