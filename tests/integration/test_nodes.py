"""Where a sandbox runs: on Docker and Podman, the engine's host, by the name the engine gives
it. Said over the wire from the first running state on, kept in the server's state, found by
`list(node=...)`."""

from __future__ import annotations

import sqlite3

import pytest

import sbtui
from sbtui.client import SandboxState
from tests.servers import IMAGE, ServerProcess, new_state_dir


@pytest.fixture
def own_server(engine):
    proc = ServerProcess(engine, new_state_dir(engine + "-node")).start()
    yield proc
    proc.dispose()


async def _listed(client, **filters) -> set[str]:
    return {sb.sandbox_id async for sb in client.sandboxes.list(include_finished=True, **filters)}


async def test_a_sandbox_runs_on_the_engines_host_and_keeps_it_across_a_restart(own_server):
    host = await own_server.engine_host()
    assert host, "the engine names no host: nothing to compare with"
    async with sbtui.Client.connect(own_server.address) as client:
        app = await client.apps.from_name("nodes", create_if_missing=True)
        image = client.images.from_registry(IMAGE)
        running = await client.sandboxes.create(app, image, timeout=120)
        assert running.info.state == SandboxState.RUNNING and running.info.node == host
        ended = await client.sandboxes.create(app, image, command=["true"])
        assert await ended.wait() == 0
        assert (await ended.refresh()).node == host
        assert await _listed(client, node=host) == {running.sandbox_id, ended.sandbox_id}
        assert await _listed(client, node=host + "-elsewhere") == set()
        # A follower learns it too.
        followed = {}
        async for event in client.sandboxes.watch():
            if event.sandbox is None:  # SYNCED: every current sandbox was sent
                break
            followed[event.sandbox.sandbox_id] = event.sandbox.node
        assert followed == {running.sandbox_id: host, ended.sandbox_id: host}

    own_server.stop()
    own_server.start()
    async with sbtui.Client.connect(own_server.address) as client:
        # The finished one's container is gone: only the server's state can say where it ran.
        assert (await (await client.sandboxes.from_id(ended.sandbox_id)).refresh()).node == host
        again = await client.sandboxes.from_id(running.sandbox_id)
        assert again.info.node == host
        assert await _listed(client, node=host) == {running.sandbox_id, ended.sandbox_id}
        await again.terminate()


async def test_a_sandbox_adopted_at_restart_is_placed_again(own_server):
    """A record without a node (as a server before nodes kept it) gets it from the engine when
    the next server adopts its running container."""
    host = await own_server.engine_host()
    async with sbtui.Client.connect(own_server.address) as client:
        app = await client.apps.from_name("nodes", create_if_missing=True)
        sb = await client.sandboxes.create(app, client.images.from_registry(IMAGE), timeout=120)
    own_server.stop()
    with sqlite3.connect(own_server.state_dir / "state.db") as db:
        db.execute("UPDATE sandboxes SET node = '' WHERE sandbox_id = ?", (sb.sandbox_id,))
    db.close()  # the `with` only commits
    own_server.start()
    async with sbtui.Client.connect(own_server.address) as client:
        # Adopted before the server listens: what it answers first has the node again.
        adopted = await client.sandboxes.from_id(sb.sandbox_id)
        assert adopted.info.state == SandboxState.RUNNING and adopted.info.node == host
        await adopted.terminate()
