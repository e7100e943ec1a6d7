"""What only a cluster has, on the real 3-node test swarm (tests/swarm_cluster.py): placement by
the nodes' labels and resources, sandboxes spread over the nodes, snapshots that start on
another node, a node lost, and the capabilities a swarm server states."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import time

import aiodocker
import pytest

import sbtui
from sbtui.client.models import SandboxState, TerminationReason
from sbtui.server.runtime.node_loss import NODE_LOST_AFTER
from tests import engine_view, reach
from tests.servers import IMAGE, ServerProcess, new_state_dir, until

pytestmark = pytest.mark.swarm


@pytest.fixture(scope="module")
def swarm_server(swarm_agents, registry):
    proc = ServerProcess("swarm", new_state_dir("swarm"), extra=["--insecure-registry", registry.host])
    proc.start()
    yield proc
    proc.dispose()


@pytest.fixture
async def swarm_client(swarm_server):
    async with sbtui.Client.connect(swarm_server.address) as c:
        yield c


@pytest.fixture
async def swarm_app(swarm_client, request):
    return await swarm_client.apps.from_name("t-" + request.node.name[:50], create_if_missing=True)


async def _create(client, app, **kw):
    kw.setdefault("timeout", 120)
    return await client.sandboxes.create(app, client.images.from_registry(IMAGE), **kw)


async def test_regions_and_cloud_choose_the_node(swarm_client, swarm_app, swarm_cluster):
    cases = [
        ({"regions": ["eu"]}, "manager"),
        ({"regions": ["us"], "cloud": "gcp"}, "worker-2"),
        ({"regions": ["eu", "us"], "cloud": "aws"}, "worker-1"),
    ]
    for placement, expected in cases:
        sb = await _create(swarm_client, swarm_app, **placement)
        info = await sb.refresh()
        assert info.node == swarm_cluster.node(expected).hostname, placement
        await sb.terminate()


async def test_a_create_no_node_has_the_labels_for_fails_at_once_naming_them(swarm_client, swarm_app):
    started = time.monotonic()
    with pytest.raises(sbtui.client.FailedPreconditionError) as refused:
        await _create(swarm_client, swarm_app, regions=["mars"])
    assert time.monotonic() - started < 10
    assert "sbtui.region in (mars)" in str(refused.value)
    assert "region eu" in str(refused.value)  # what the nodes have


async def test_a_create_no_node_has_room_for_fails_within_ten_seconds(swarm_client, swarm_app):
    # Each sandbox reserves every CPU of a node (2, as on this machine): the fourth finds no
    # node with room.
    cpus = 2
    holders = [await _create(swarm_client, swarm_app, cpu=cpus) for _ in range(3)]
    try:
        assert len({(await sb.refresh()).node for sb in holders}) == 3
        started = time.monotonic()
        with pytest.raises(sbtui.client.FailedPreconditionError, match="insufficient resources"):
            await _create(swarm_client, swarm_app, cpu=cpus)
        assert time.monotonic() - started < 10
    finally:
        for sb in holders:
            await sb.terminate()


async def test_sandboxes_spread_over_the_nodes(swarm_client, swarm_app, swarm_cluster):
    sandboxes = await asyncio.gather(*(_create(swarm_client, swarm_app) for _ in range(6)))
    try:
        nodes = [(await sb.refresh()).node for sb in sandboxes]
        assert set(nodes) == {n.hostname for n in swarm_cluster.nodes.values()}, nodes
    finally:
        await asyncio.gather(*(sb.terminate() for sb in sandboxes))


async def test_a_sandbox_spends_one_address_of_its_network(swarm_client, swarm_app, swarm_server):
    # A service's default virtual IP would take a second address from the environment's /24:
    # room for ~125 sandboxes at once instead of ~250.
    sb = await _create(swarm_client, swarm_app)
    try:
        async with aiodocker.Docker(url=swarm_server.engine_url) as docker:
            service = await engine_view.service_of(docker, sb.sandbox_id)
        assert service is not None
        assert not (service.get("Endpoint") or {}).get("VirtualIPs"), service["Endpoint"]
    finally:
        await sb.terminate()


async def test_a_snapshot_starts_on_another_node(swarm_client, swarm_app, swarm_cluster):
    sb = await _create(swarm_client, swarm_app, cloud="aws")
    p = await sb.exec(["sh", "-c", "echo made-on-worker-1 > /from-snapshot"])
    assert await p.wait() == 0
    snapshot = await sb.snapshot_filesystem()
    await sb.terminate()
    copy = await swarm_client.sandboxes.create(swarm_app, snapshot, timeout=120, cloud="gcp")
    assert (await copy.refresh()).node == swarm_cluster.node("worker-2").hostname
    p = await copy.exec(["cat", "/from-snapshot"])
    assert (await p.stdout.read()).strip() == b"made-on-worker-1"
    await copy.terminate()


async def test_a_cidr_allowlist_fences_across_nodes(swarm_client, swarm_app, swarm_cluster):
    """The fence is set in the sandbox's namespace on its node, by that node's agent; what it
    lets through crosses the overlay to the other nodes. The fenced sandbox is tried once its
    node has learnt both targets' addresses by gossip (an open sandbox beside it reaches both),
    so a refusal is the fence's."""
    worker_1, worker_2 = {"regions": ["eu", "us"], "cloud": "aws"}, {"regions": ["us"], "cloud": "gcp"}
    allowed = await _create(swarm_client, swarm_app, command=reach.LISTEN, **swarm_cluster.on_manager)
    other = await _create(swarm_client, swarm_app, command=reach.LISTEN, **worker_2)
    made = [allowed, other]
    try:
        await reach.listening(allowed)
        await reach.listening(other)
        allowed_ip, other_ip = await reach.address(allowed), await reach.address(other)
        made += await asyncio.gather(
            _create(swarm_client, swarm_app, **worker_1),
            _create(swarm_client, swarm_app, cidr_allowlist=[f"{allowed_ip}/32"], **worker_1),
        )
        open_sb, fenced = made[2:]
        assert {(await sb.refresh()).node for sb in (open_sb, fenced)} == {
            swarm_cluster.node("worker-1").hostname
        }
        for target in (allowed_ip, other_ip):
            await until(lambda: reach.reaches(open_sb, target), 30, f"worker-1 to learn {target} by gossip")
        assert await reach.reaches(fenced, allowed_ip)
        assert not await reach.reaches(fenced, other_ip)
    finally:
        for sb in made:
            await sb.terminate()


async def test_capabilities_follow_the_runtime(swarm_client):
    unsupported = (await swarm_client.capabilities()).unsupported_create_fields
    assert "regions" not in unsupported and "cloud" not in unsupported and "cidr_allowlist" not in unsupported
    assert "volumes" not in unsupported  # each is on one node, where its sandboxes are placed
    assert "gpu" in unsupported


async def test_a_follower_gets_all_of_the_output_across_a_restart_of_the_nodes_agent(
    swarm_client, swarm_app, swarm_agents
):
    # The agent of the node holding the sandbox goes away in the middle of a follow: the
    # server reads the log again from where it broke off, and the follower misses nothing.
    # Before the tests that stop nodes: the first sandbox on a worker whose engine came back
    # can fail to join its network there ("error creating vxlan interface: file exists").
    first, second = _numbers(1, 20_000), _numbers(20_001, 40_000)
    command = "seq 1 20000; while [ ! -e /tmp/go ]; do sleep 0.05; done; seq 20001 40000"
    sb = await _create(swarm_client, swarm_app, cloud="aws", command=["sh", "-c", command])
    got = bytearray()

    async def follow() -> None:
        async for chunk in sb.logs(follow=True):
            got.extend(chunk.data)

    follower = asyncio.create_task(follow())
    await until(lambda: len(got) >= len(first), 30, "the first half of the output followed")
    swarm_agents.restart("worker-1")
    assert await (await sb.exec(["touch", "/tmp/go"])).wait() == 0
    await asyncio.wait_for(follower, 60)
    assert bytes(got) == first + second, f"{len(got)} bytes followed of {len(first + second)}"


def _numbers(first: int, last: int) -> bytes:
    return b"".join(b"%d\n" % i for i in range(first, last + 1))


async def test_a_vxlan_left_by_a_node_engines_crash_is_cleared_by_its_agent(swarm_client, swarm_cluster):
    """What Docker 20.10 leaves in a node's own namespace when its engine is killed as it joins
    a task to an overlay network (sbtui/node/overlay.py), made here by hand: the network's
    vxlan interface, in worker-1's namespace, on which every join of that network there fails.
    The node's agent deletes it, and a sandbox of that network starts there."""
    environment = f"vxlan-{secrets.token_hex(4)}"
    app = await swarm_client.apps.from_name("vxlan", environment=environment, create_if_missing=True)
    first = await _create(swarm_client, app, cloud="gcp")  # the environment's network, its VNI given
    worker = swarm_cluster.node("worker-1")
    inside = ["ip", "-n", worker.netns]
    try:
        networks = "{{json .Spec.TaskTemplate.Networks}}"
        service = f"sbtui-{first.sandbox_id}"
        [attached] = json.loads(
            swarm_cluster.docker("manager", "service", "inspect", service, "--format", networks)
        )
        vni_option = '{{index .Options "com.docker.network.driver.overlay.vxlanid_list"}}'
        network_id, vni = swarm_cluster.docker(
            "manager", "network", "inspect", attached["Target"], "--format", "{{.Id}} " + vni_option
        ).split()
        left = f"vx-{int(vni):06x}-{network_id[:5]}"
        plant = [*inside, "link", "add", left, "type", "vxlan", "id", vni, "dstport", "4789"]
        subprocess.run(plant, check=True, timeout=30)

        def gone() -> bool:
            return (
                subprocess.run([*inside, "link", "show", left], capture_output=True, timeout=30).returncode
                != 0
            )

        await until(gone, 15, f"worker-1's agent to delete {left}")
        sb = await _create(swarm_client, app, cloud="aws")
        assert (await sb.refresh()).node == worker.hostname
        p = await sb.exec(["echo", "here"])
        assert await p.stdout.read() == b"here\n"
        await sb.terminate()
    finally:
        subprocess.run([*inside, "link", "delete", left], capture_output=True, timeout=30)
        await first.terminate()


@pytest.mark.parametrize("cut_off", ["its network cut", "cut off from the manager alone"])
async def test_a_lost_node_ends_its_sandboxes_and_they_stay_ended(
    swarm_client, swarm_app, swarm_cluster, cut_off
):
    """Lost: no one hears from the node, or the manager calls it down (its agent answering
    does not save it then: SwarmKit shuts its tasks down once it is back)."""
    worker = swarm_cluster.node("worker-1")
    cut, restore = {
        "its network cut": (swarm_cluster.cut_network, swarm_cluster.restore_network),
        "cut off from the manager alone": (swarm_cluster.hold_from_manager, swarm_cluster.release_to_manager),
    }[cut_off]
    sb = await _create(swarm_client, swarm_app, cloud="aws")
    info = await sb.refresh()
    assert info.node == worker.hostname
    service = swarm_cluster.docker(
        "manager", "service", "ls", "--quiet", "--filter", f"name=sbtui-{sb.sandbox_id}"
    )
    session = await sb.exec(["sleep", "600"])
    waiting = asyncio.create_task(sb.wait(raise_on_timeout=False))
    cut(worker)
    try:
        cut_at = time.monotonic()
        await asyncio.wait_for(asyncio.shield(waiting), 45)
        lost_after = time.monotonic() - cut_at
        info = await sb.refresh()
        assert info.state == SandboxState.FINISHED
        assert info.termination_reason == TerminationReason.NODE_LOST
        assert lost_after < 30, lost_after
        with pytest.raises(sbtui.client.SbtuiError, match="its exit code is unknown"):
            await asyncio.wait_for(session.wait(), 30)
    finally:
        restore(worker)
    swarm_cluster.wait_ready()
    # Back in the swarm, the node is told its task's service is gone: nothing runs again.

    def gone() -> bool:
        listed = swarm_cluster.docker(
            worker.name, "ps", "--quiet", "--filter", f"label=io.sbtui.sandbox={sb.sandbox_id}"
        )
        return not listed

    await until(gone, 60, "the lost sandbox's container to be removed from the node that came back")
    assert (await sb.refresh()).state == SandboxState.FINISHED
    assert not swarm_cluster.docker("manager", "service", "ls", "--quiet", "--filter", f"id={service}")


async def test_a_create_whose_node_is_lost_before_it_starts_fails_naming_it(
    swarm_client, swarm_app, swarm_cluster
):
    """The node's engine killed as the create comes: the manager counts the node ready until
    its heartbeats are missed and gives it the task, which is then neither started nor placed
    again (restart condition none). The create fails once the node is lost, naming it."""
    worker = swarm_cluster.node("worker-1")
    swarm_cluster.kill_engine(worker)
    try:
        started = time.monotonic()
        with pytest.raises(sbtui.client.FailedPreconditionError) as refused:
            await _create(swarm_client, swarm_app, cloud="aws")  # only worker-1 is in aws
        assert time.monotonic() - started < 30
        assert f"node {worker.hostname} was lost before the sandbox started" in str(refused.value)
    finally:
        swarm_cluster.start_engine(worker)
    swarm_cluster.wait_ready()


async def test_a_nodes_engine_restart_ends_its_sandboxes_saying_so(swarm_client, swarm_app, swarm_cluster):
    """A node's engine that crashes and starts again before the node counts as lost ends the
    sandboxes it had (swarm mode has no live restore): they end with reason `engine stopped`,
    though SIGKILLed under a memory limit as the OOM killer does, and the others run on."""
    worker = swarm_cluster.node("worker-1")
    sb = await _create(swarm_client, swarm_app, cloud="aws")
    elsewhere = await _create(swarm_client, swarm_app, cloud="gcp")
    swarm_cluster.kill_engine(worker)
    swarm_cluster.start_engine(worker)
    try:
        await asyncio.wait_for(sb.wait(raise_on_timeout=False), 60)
        info = await sb.refresh()
        assert (info.termination_reason, info.exit_code) == (TerminationReason.ENGINE_STOPPED, 137), info
        assert (await elsewhere.refresh()).state == SandboxState.RUNNING
    finally:
        await elsewhere.terminate()
    swarm_cluster.wait_ready()


async def test_a_node_that_joins_later_is_used_without_a_restart(swarm_client, swarm_app, swarm_cluster):
    # worker-2 (the only node in gcp) leaves and joins again: a node id the server never saw.
    gone = swarm_cluster.rejoin("worker-2")
    worker = swarm_cluster.node("worker-2")
    assert worker.id != gone
    sb = await _create(swarm_client, swarm_app, cloud="gcp")
    try:
        assert (await sb.refresh()).node == worker.hostname
        p = await sb.exec(["cat"])  # stdin and output through the new node's agent
        p.stdin.write(b"through its agent")
        p.stdin.close()
        assert await p.stdout.read() == b"through its agent"
        assert await p.wait() == 0
    finally:
        await sb.terminate()


def test_a_swarm_server_is_refused_without_a_manager_or_a_registry(swarm_agents, swarm_cluster):
    options = swarm_agents.server_options()
    on_a_worker = list(options)
    on_a_worker[on_a_worker.index("--engine-url") + 1] = swarm_cluster.engine_url("worker-1")
    at = options.index("--registry")
    no_registry = options[:at] + options[at + 2 :]
    for extra, said in (
        (on_a_worker, "is not a swarm manager (its swarm state: active)"),
        (no_registry, "needs the cluster registry every node pulls from: --registry HOST:PORT"),
    ):
        server = ServerProcess("swarm", new_state_dir("swarm-refused"), extra=extra)
        try:
            refused = server.run_refused()
        finally:
            server.dispose()
        assert refused.returncode != 0
        assert said in refused.stderr + refused.stdout


@pytest.mark.restarts_the_manager
async def test_a_manager_restart_keeps_the_workers_sandboxes_and_their_deadlines(
    swarm_client, swarm_app, swarm_cluster
):
    """The swarm's one manager crashes (its engine SIGKILLed) and comes back. The sandboxes on
    the workers run on through it: one whose deadline falls while the manager is away is
    killed on time through its node's agent; an exec begun before goes on to its end; new
    execs are refused while the manager is away, saying so, and reach the sandbox as soon as
    it answers again; the other sandbox ends at its own deadline. The workers report to the
    manager back only well after it answers (as a loaded cluster's may): the manager calls
    them unknown for longer than a node may be lost, but their agents answer for them, so
    their sandboxes are neither lost nor cut off. The manager's own sandbox ends with its
    engine (swarm mode has no live restore), and says so: not out of memory, though it was
    SIGKILLed under a memory limit."""
    early = await _create(swarm_client, swarm_app, cloud="aws", timeout=12)
    late = await _create(swarm_client, swarm_app, cloud="gcp", timeout=60)
    own = await _create(swarm_client, swarm_app, regions=["eu"])
    session = await late.exec(["sh", "-c", "read line; echo got $line"])
    workers = [swarm_cluster.node("worker-1"), swarm_cluster.node("worker-2")]
    swarm_cluster.kill_engine("manager")
    try:
        with pytest.raises(sbtui.client.EngineUnavailableError, match="does not answer.*once it is back"):
            await late.exec(["true"])
        session.stdin.write(b"through the agent\n")
        await session.stdin.drain()
        session.stdin.close()
        assert await asyncio.wait_for(session.stdout.read(), 30) == b"got through the agent\n"
        assert await asyncio.wait_for(session.wait(), 30) == 0
        # Away until early's deadline has passed.
        deadline = (await early.refresh()).deadline
        await until(lambda: time.time() > deadline + 2, 30, "early's deadline to pass")
        for worker in workers:
            swarm_cluster.hold_from_manager(worker)
        swarm_cluster.start_engine("manager")
        await until(_answers(late), 60, "an exec to work once the manager is back")
        unknown = _unknown_to_the_manager(swarm_cluster, workers)
        await until(
            unknown, 30, "the manager to call the workers unknown for long", lambda: asyncio.sleep(0.5)
        )
        assert (await late.refresh()).finished_at == 0 and await _answers(late)()
    finally:
        for worker in workers:
            swarm_cluster.release_to_manager(worker)
        swarm_cluster.start_engine("manager")
    for sb, reason, node in (
        (early, TerminationReason.TIMEOUT, "worker-1"),
        (own, TerminationReason.ENGINE_STOPPED, "manager"),
        (late, TerminationReason.TIMEOUT, "worker-2"),
    ):
        await asyncio.wait_for(sb.wait(raise_on_timeout=False), 90)
        info = await sb.refresh()
        assert (info.termination_reason, info.node) == (reason, swarm_cluster.node(node).hostname), info
        if reason == TerminationReason.TIMEOUT:
            # Ended when its node's engine says it did: within 2 s of its deadline.
            assert abs(info.finished_at - info.deadline) < 2, (info.finished_at, info.deadline)
    swarm_cluster.wait_ready()


def _unknown_to_the_manager(swarm_cluster, workers):
    """A condition for until(): the manager has called every one of `workers` unknown for
    longer than the server gives a node it can't hear from (2 s more)."""
    since: dict[str, float] = {}

    def unknown() -> bool:
        for worker in workers:
            state = swarm_cluster.docker(
                "manager", "node", "inspect", worker.id, "--format", "{{.Status.State}}"
            )
            assert state.strip() == "unknown", f"{worker.name} is {state.strip()} to the manager, not unknown"
            since.setdefault(worker.name, time.monotonic())
        return max(since.values()) < time.monotonic() - NODE_LOST_AFTER - 2

    return unknown


def _answers(sb):
    """A condition for until(): an exec in `sb` runs and says so (an error is a no)."""

    async def answers() -> bool:
        try:
            p = await sb.exec(["echo", "here"])
            return await p.stdout.read() == b"here\n" and await p.wait() == 0
        except sbtui.client.SbtuiError:
            return False

    return answers
