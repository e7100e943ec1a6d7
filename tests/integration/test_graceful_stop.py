"""A stopped server finishes what it acknowledged: a terminate it answered is carried out before
it exits on SIGTERM, and at its next start when it was killed before it could."""

from __future__ import annotations

import asyncio

import pytest

import sbtui
from sbtui.client import SandboxState, TerminationReason
from tests.engine_view import held
from tests.servers import IMAGE, ServerProcess, new_state_dir, until

SANDBOXES = 30  # all terminated at once: on 2 cores, more than the engine kills in a moment


@pytest.fixture
def own_server(engine):
    proc = ServerProcess(engine, new_state_dir(engine + "-stop")).start()
    yield proc
    proc.dispose()


async def _said(sb, line: bytes) -> bool:
    out = b""
    async for chunk in sb.logs():
        out += chunk.data
    return line in out


@pytest.mark.parametrize("how", ["SIGTERM", "kill -9"])
async def test_acknowledged_terminations_are_carried_out(own_server, how):
    async with sbtui.Client.connect(own_server.address) as client:
        app = await client.apps.from_name("stop", create_if_missing=True)
        image = client.images.from_registry(IMAGE)
        sandboxes = await asyncio.gather(
            *(
                client.sandboxes.create(
                    app, image, command=["sh", "-c", f"echo said-{i}; exec sleep 600"], timeout=600
                )
                for i in range(SANDBOXES)
            )
        )
        for i, sb in enumerate(sandboxes):  # their output is what the terminations must keep
            await until(lambda: _said(sb, f"said-{i}\n".encode()), 30, f"{sb.sandbox_id}'s line")
        # Acknowledged, not waited for: from here on the server owes these terminations.
        assert await asyncio.gather(*(sb.terminate() for sb in sandboxes)) == [None] * SANDBOXES
    ids = [sb.sandbox_id for sb in sandboxes]
    if how == "SIGTERM":
        assert own_server.stop() == 0, own_server.log_text()
        # Killed and removed before the server exited, as seen by the engine itself.
        assert held(own_server, ids, running=True) == []
        assert held(own_server, ids) == []
    else:
        own_server.kill()  # the server owes them still: its next start carries them out
    own_server.start()
    async with sbtui.Client.connect(own_server.address) as client:
        for i, sandbox_id in enumerate(ids):
            sb = await client.sandboxes.from_id(sandbox_id)
            if how == "kill -9":
                await asyncio.wait_for(sb.wait(), 60)
            info = await sb.refresh()
            assert (info.state, info.termination_reason, info.exit_code) == (
                SandboxState.FINISHED,
                TerminationReason.TERMINATED,
                137,
            ), sandbox_id
            assert await _said(sb, f"said-{i}\n".encode()), f"{sandbox_id}'s kept output"
    await until(lambda: held(own_server, ids) == [], 60, "the containers to be removed")
