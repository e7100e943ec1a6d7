"""Volumes on the real 3-node test swarm (tests/swarm_cluster.py): a volume lives on one node,
chosen at create (the one holding the fewest of the server's volumes), and every sandbox that
mounts it is placed on that node. Where a volume is, is asked of each node's own engine."""

from __future__ import annotations

import asyncio
import contextlib
import secrets as random
import time

import pytest

import sbtui
from sbtui.client import FailedPreconditionError, NotFoundError, Volume
from tests.integration.test_secrets import output
from tests.servers import IMAGE, ServerProcess, new_state_dir, until

pytestmark = pytest.mark.swarm


@pytest.fixture(scope="module")
def volumes_server(swarm_agents, registry):
    """A server of its own: how many volumes each node holds for it is this module's doing."""
    proc = ServerProcess(
        "swarm", new_state_dir("swarm-volumes"), extra=["--insecure-registry", registry.host]
    )
    proc.start()
    yield proc
    proc.dispose()


@pytest.fixture
async def client(volumes_server):
    async with sbtui.Client.connect(volumes_server.address) as c:
        yield c


@pytest.fixture
async def app(client, request):
    return await client.apps.from_name("t-" + request.node.name[:50], create_if_missing=True)


@pytest.fixture
async def made(client):
    """Makes volumes for a test, each deleted after it."""
    volumes: list[Volume] = []

    async def make(prefix: str = "vol") -> Volume:
        volume = await client.volumes.from_name(f"{prefix}-{random.token_hex(4)}", create_if_missing=True)
        volumes.append(volume)
        return volume

    yield make
    for volume in volumes:
        with contextlib.suppress(NotFoundError, FailedPreconditionError):
            await client.volumes.delete(volume.name)


async def _create(client, app, **kw):
    return await client.sandboxes.create(app, client.images.from_registry(IMAGE), timeout=120, **kw)


def holders(cluster, volume: Volume) -> list[str]:
    """The host names of the nodes whose engine has the volume, asked of each engine."""
    return [
        node.hostname
        for node in cluster.nodes.values()
        if cluster.docker(node, "volume", "inspect", f"sbtui-{volume.volume_id}", check=False).strip()
        not in ("", "[]")
    ]


async def on_a_worker(made, cluster) -> Volume:
    """A new volume on a worker node: each goes to the node holding the fewest, so one of any
    three in a row does."""
    for _ in range(3):
        volume = await made("on-worker")
        if holders(cluster, volume) != [cluster.manager.hostname]:
            return volume
    raise AssertionError(
        "three new volumes in a row were made on the manager: they don't spread over the nodes"
    )


async def test_data_written_by_one_sandbox_is_read_by_the_next_on_the_volumes_node(
    client, app, made, swarm_cluster
):
    volume = await made()
    [home] = holders(swarm_cluster, volume)
    first = await _create(client, app, volumes={"/data": volume})
    try:
        assert (await first.refresh()).node == home
        await output(first, ["sh", "-c", "echo kept > /data/f"])
    finally:
        await first.terminate(wait=True)
    second = await _create(client, app, volumes={"/v": volume.name})
    try:
        assert (await second.refresh()).node == home
        assert await output(second, ["cat", "/v/f"]) == "kept\n"
    finally:
        await second.terminate(wait=True)
    assert holders(swarm_cluster, volume) == [home]  # no empty copy made on another node


async def test_volumes_spread_over_the_nodes_and_their_sandboxes_follow_them(
    client, app, made, swarm_cluster
):
    volumes = [await made("spread") for _ in range(3)]
    homes = [holders(swarm_cluster, v) for v in volumes]
    assert sorted(h for [h] in homes) == sorted(n.hostname for n in swarm_cluster.nodes.values()), homes
    # Each is listed on its node, as the NODE column shows it.
    listed = {v.volume_id: v.node for v in await client.volumes.list()}
    assert [listed[v.volume_id] for v in volumes] == [h for [h] in homes]
    pinned_volume, [home] = volumes[0], homes[0]
    pinned = await asyncio.gather(*(_create(client, app, volumes={"/v": pinned_volume}) for _ in range(4)))
    others = await asyncio.gather(*(_create(client, app) for _ in range(6)))
    try:
        assert [(await sb.refresh()).node for sb in pinned] == [home] * 4
        elsewhere = {(await sb.refresh()).node for sb in others}
        assert len(elsewhere) >= 2 and elsewhere - {home}, elsewhere
    finally:
        await asyncio.gather(*(sb.terminate(wait=True) for sb in pinned + others))


async def test_volumes_on_two_nodes_in_one_sandbox_are_refused_by_name_at_once(
    client, app, made, swarm_cluster
):
    first, second = await made("one"), await made("two")
    [first_home], [second_home] = holders(swarm_cluster, first), holders(swarm_cluster, second)
    assert first_home != second_home
    started = time.monotonic()
    with pytest.raises(FailedPreconditionError) as refused:
        await _create(client, app, volumes={"/a": first, "/b": second})
    assert time.monotonic() - started < 10
    said = str(refused.value)
    assert "volumes are on different nodes" in said
    assert f"'{first.name}' on node {first_home}" in said and f"'{second.name}' on node {second_home}" in said


async def test_a_volume_on_a_node_outside_the_sandboxs_regions_is_refused_naming_both(
    client, app, made, swarm_cluster
):
    volume = await on_a_worker(made, swarm_cluster)  # region us: a sandbox of it can't be in eu
    [home] = holders(swarm_cluster, volume)
    started = time.monotonic()
    with pytest.raises(FailedPreconditionError) as refused:
        await _create(client, app, volumes={"/v": volume}, regions=["eu"])
    assert time.monotonic() - started < 10
    assert f"volume '{volume.name}' lives on node {home}, which has region us" in str(refused.value)
    assert "not sbtui.region in (eu)" in str(refused.value)


async def test_delete_removes_the_engine_volume_from_its_node(client, app, made, swarm_cluster):
    volume = await made("gone")
    [home] = holders(swarm_cluster, volume)
    sb = await _create(client, app, volumes={"/v": volume})
    with pytest.raises(FailedPreconditionError, match=f"is mounted by running sandbox {sb.sandbox_id}"):
        await client.volumes.delete(volume.name)
    await sb.terminate(wait=True)
    # Its container may still be on its way out on the node: delete waits for it.
    await client.volumes.delete(volume.name)
    assert holders(swarm_cluster, volume) == []
    assert home  # it was there before


async def test_a_server_restart_keeps_each_volume_on_its_node(swarm_agents, registry, swarm_cluster):
    server = ServerProcess(
        "swarm", new_state_dir("swarm-volume-restart"), extra=["--insecure-registry", registry.host]
    )
    server.start()
    try:
        async with sbtui.Client.connect(server.address) as client:
            # The second volume goes to another node than the first: the pinning is not the
            # node a fresh server would choose first.
            await client.volumes.from_name("first", create_if_missing=True)
            volume = await client.volumes.from_name("kept", create_if_missing=True)
            [home] = holders(swarm_cluster, volume)
            app = await client.apps.from_name("restart", create_if_missing=True)
            sb = await _create(client, app, volumes={"/v": volume})
            await output(sb, ["sh", "-c", "echo on-its-node > /v/f"])
            await sb.terminate(wait=True)
        server.stop()
        server.start()
        async with sbtui.Client.connect(server.address) as client:
            app = await client.apps.from_name("restart")
            sandboxes = await asyncio.gather(
                *(_create(client, app, volumes={"/v": "kept"}) for _ in range(3))
            )
            try:
                assert [(await sb.refresh()).node for sb in sandboxes] == [home] * 3
                assert await output(sandboxes[0], ["cat", "/v/f"]) == "on-its-node\n"
            finally:
                await asyncio.gather(*(sb.terminate(wait=True) for sb in sandboxes))
            await client.volumes.delete("kept")  # through the node's agent, after the restart too
            await client.volumes.delete("first")
            assert holders(swarm_cluster, volume) == []
    finally:
        server.dispose()


async def test_a_volume_whose_node_is_down_is_refused_at_once_for_sandboxes_and_delete(
    client, app, made, swarm_cluster
):
    volume = await on_a_worker(made, swarm_cluster)  # whose network can be cut
    worker = swarm_cluster.node(holders(swarm_cluster, volume)[0])

    def down() -> bool:
        state = swarm_cluster.docker("manager", "node", "inspect", worker.id, "--format", "{{.Status.State}}")
        return state.strip() == "down"

    swarm_cluster.cut_network(worker)
    try:
        await until(down, 60, f"the manager to see node {worker.hostname} down", lambda: asyncio.sleep(0.5))
        started = time.monotonic()
        with pytest.raises(FailedPreconditionError) as refused:
            await _create(client, app, volumes={"/v": volume})
        assert f"volume '{volume.name}' lives on node {worker.hostname}, which is down" in str(refused.value)
        with pytest.raises(FailedPreconditionError) as kept:
            await client.volumes.delete(volume.name)
        assert time.monotonic() - started < 10
        assert f"its node {worker.hostname} is down" in str(kept.value)
    finally:
        swarm_cluster.restore_network(worker)
    swarm_cluster.wait_ready()
    assert await client.volumes.from_name(volume.name) == volume  # kept, for its node came back
