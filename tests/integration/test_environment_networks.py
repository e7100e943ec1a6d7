"""Environments don't share a network: the attack of a sandbox in one environment on another
environment's container, straight across the engine's bridge, fails; within an environment
sandboxes still reach each other, and the server's tunnels still reach them all.

The target listens on three ports: one it declares nowhere, one declared unencrypted and one
declared encrypted. The encrypted one is plain TCP inside the container (the server terminates
TLS and dials the container's address in plaintext), so reaching its container port directly
skips the TLS the tunnel promises. A sandbox of the same environment reaching all three shows
each listener reachable across the network; one of the other environment reaching a neighbour
of its own shows its network working, so its failures are the isolation and nothing else.

Traffic goes only into the sandboxes and containers these tests create, and to the tunnels on
loopback.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import ssl
import subprocess
import time

import aiodocker
import aiohttp
import pytest

import sbtui
from sbtui.client import SbtuiError
from sbtui.server.runtime import networks
from sbtui.server.runtime.engine import ulimits_of
from sbtui.server.runtime.engine_api import LIBPOD_API
from sbtui.server.runtime.naming import LABEL_SANDBOX
from tests import engine_view
from tests.engine_view import networks_of
from tests.servers import IMAGE, ServerProcess, engine_cli, new_state_dir, until

HIDDEN, PLAIN, TLS = 7000, 7001, 7002  # undeclared, unencrypted, encrypted
PORTS = (HIDDEN, PLAIN, TLS)
ANSWERS = " ".join(f"nc -ll -p {port} -e echo port-{port} &" for port in PORTS)
LISTEN = ["sh", "-c", f"{ANSWERS} wait"]
NETWORK_NAME = re.compile(r"sbtui-env-[0-9a-f]{24}")


async def _run(sb, script: str) -> str:
    p = await sb.exec(["sh", "-c", script])
    out = await asyncio.wait_for(p.stdout.read(), 30)
    await asyncio.wait_for(p.wait(), 30)
    return out.decode()


async def _address(sb) -> str:
    return (await _run(sb, "ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1")).split()[0]


async def _listening(sb) -> None:
    """Wait until every port answers on the sandbox's own loopback."""
    deadline = time.monotonic() + 20
    probe = " ; ".join(f"echo | nc -w 2 127.0.0.1 {port}" for port in PORTS)
    while (await _run(sb, probe)).split() != [f"port-{port}" for port in PORTS]:
        assert time.monotonic() < deadline, "the target's listeners did not come up"
        await asyncio.sleep(0.05)


async def _reached(sb, address: str) -> set[int]:
    """The ports of `address` that answered `sb`, all tried at once."""
    probes = " ".join(f"(echo | timeout 5 nc -w 2 {address} {port}) &" for port in PORTS)
    out = await _run(sb, f"{probes} wait")
    return {port for port in PORTS if f"port-{port}" in out}


async def _network_labels(server, name: str) -> dict[str, str] | None:
    async with aiodocker.Docker(url=server.engine_url) as docker:
        try:
            data = await docker._query_json(f"networks/{name}")
        except aiodocker.DockerError as err:
            if err.status == 404:
                return None
            raise
    return data.get("Labels") or {}


async def test_another_environments_sandbox_is_out_of_reach(client, app, image, server):
    elsewhere = await client.apps.from_name(app.name, environment="netenv-elsewhere", create_if_missing=True)
    target = await client.sandboxes.create(
        app, image, command=LISTEN, unencrypted_ports=[PLAIN], encrypted_ports=[TLS], timeout=120
    )
    made = [target]
    try:
        peer, neighbour, intruder = await asyncio.gather(
            client.sandboxes.create(app, image, timeout=120),
            client.sandboxes.create(elsewhere, image, command=LISTEN, timeout=120),
            client.sandboxes.create(elsewhere, image, timeout=120),
        )
        made += [peer, neighbour, intruder]
        await _listening(target)
        await _listening(neighbour)
        address = await _address(target)
        # Allowing the target's address does not open a way to it from elsewhere.
        fenced = await client.sandboxes.create(
            elsewhere, image, cidr_allowlist=[f"{address}/32"], timeout=120
        )
        made.append(fenced)
        peer_got, intruder_got, fenced_got, neighbour_got = await asyncio.gather(
            _reached(peer, address),
            _reached(intruder, address),
            _reached(fenced, address),
            _reached(intruder, await _address(neighbour)),
        )
        assert peer_got == set(PORTS), f"on {server.engine} the same environment reached {peer_got}"
        assert neighbour_got == set(PORTS), f"on {server.engine} the intruder's own network is broken"
        assert intruder_got == set(), f"on {server.engine} another environment reached {intruder_got}"
        assert fenced_got == set(), f"on {server.engine} another environment reached {fenced_got}"

        # The server's tunnels still reach the target, over TCP and over TLS.
        tunnels = await target.tunnels(timeout=30)
        reader, writer = await asyncio.open_connection(*tunnels[PLAIN].tcp_socket())
        assert await asyncio.wait_for(reader.readline(), 15) == f"port-{PLAIN}\n".encode()
        writer.close()
        context = ssl.create_default_context(cadata=await client.ca_certificate())
        reader, writer = await asyncio.open_connection(*tunnels[TLS].tls_socket(), ssl=context)
        assert await asyncio.wait_for(reader.readline(), 15) == f"port-{TLS}\n".encode()
        writer.close()
    finally:
        await asyncio.gather(*(sb.terminate() for sb in made), return_exceptions=True)


async def test_without_the_defence_engine_networks_reach_each_other(server):
    """The control: what the engine gives without environment networks. Docker keeps apart
    every bridge network it has, so there the control is its one default network, where every
    sandbox was before; on Podman (CNI) two separate networks made without `isolate` still
    reach each other. Raw engine containers; the Podman networks are made through Podman's own
    API, as its compat API sets `isolate` by default, with bridge names of their own, as the
    CNI firewall plugin keeps its isolation rules for a bridge name once isolated."""
    tag = secrets.token_hex(4)
    ulimits = [{"Name": "nofile", "Soft": 1024, "Hard": 1024}, {"Name": "nproc", "Soft": 1024, "Hard": 1024}]
    async with aiodocker.Docker(url=server.engine_url) as docker:
        made_networks, made = [], []
        try:
            if server.engine == "podman":
                for side in ("a", "b"):
                    name = f"sbtui-control-{tag}-{side}"
                    await docker._query_json(
                        f"{LIBPOD_API}/libpod/networks/create",
                        method="POST",
                        versioned_api=False,
                        data={"name": name, "driver": "bridge", "network_interface": f"sbctl{tag}{side}"},
                    )
                    made_networks.append(name)
            listen_on, probe_from = made_networks or ["bridge", "bridge"]

            async def run(name: str, network: str, command: list[str]):
                container = await docker.containers.create(
                    {
                        "Image": IMAGE,
                        "Cmd": command,
                        "HostConfig": {"NetworkMode": network, "Ulimits": ulimits},
                    },
                    name=f"sbtui-control-{tag}-{name}",
                )
                made.append(container)
                await container.start()
                return container

            listener = await run("listener", listen_on, ["nc", "-ll", "-p", "7000", "-e", "echo", "reached"])
            address = (await listener.show())["NetworkSettings"]["Networks"][listen_on]["IPAddress"]
            # Tried until the listener is up, within the prober's own deadline.
            prober = await run(
                "prober",
                probe_from,
                [
                    "sh",
                    "-c",
                    (
                        f"end=$(($(date +%s) + 20)); while [ $(date +%s) -lt $end ]; do "
                        f"echo | nc -w 2 {address} 7000 | grep reached && exit 0; done; exit 1"
                    ),
                ],
            )
            assert (await asyncio.wait_for(prober.wait(), 60))["StatusCode"] == 0, (
                f"on {server.engine} the control did not reach {address}: "
                f"{''.join(await prober.log(stdout=True, stderr=True))}"
            )
        finally:
            for container in made:
                await container.delete(force=True)
            for name in made_networks:
                async with docker._query(f"networks/{name}", method="DELETE"):
                    pass


async def test_each_environment_has_a_network_of_its_own(client, app, image, server):
    elsewhere = await client.apps.from_name(app.name, environment="netenv-own", create_if_missing=True)
    made = list(
        await asyncio.gather(
            client.sandboxes.create(app, image, timeout=120),
            client.sandboxes.create(app, image, timeout=120),
            client.sandboxes.create(app, image, cidr_allowlist=["192.0.2.0/24"], timeout=120),
            client.sandboxes.create(app, image, block_network=True, timeout=120),
            client.sandboxes.create(elsewhere, image, timeout=120),
        )
    )
    try:
        first, second, fenced, blocked, other = made
        _, (ours,) = await networks_of(server, first.sandbox_id)
        _, (theirs,) = await networks_of(server, other.sandbox_id)
        assert NETWORK_NAME.fullmatch(ours) and NETWORK_NAME.fullmatch(theirs) and ours != theirs
        # Named from a digest: the environment's name, a tenant's string, is in no engine name.
        assert await _network_labels(server, ours) == {
            "io.sbtui.server": server.server_id,
            "io.sbtui.environment": "main",
        }
        assert await _network_labels(server, theirs) == {
            "io.sbtui.server": server.server_id,
            "io.sbtui.environment": "netenv-own",
        }
        assert (await networks_of(server, second.sandbox_id))[1] == [ours]
        # An allowlisted sandbox is on it too (on one engine, through its namespace's holder).
        assert (await networks_of(server, fenced.sandbox_id))[1] == [ours]
        mode, on = await networks_of(server, blocked.sandbox_id)
        if server.engine == "swarm":
            # A service can't be left without a network: it gets one of its own, with no way out.
            assert on == [networks.isolated(blocked.sandbox_id, {}).name]
            assert await _internal(server, on[0])
        else:
            assert mode == "none"
    finally:
        await asyncio.gather(*(sb.terminate() for sb in made), return_exceptions=True)


async def test_a_create_that_fails_leaves_no_network(client, image, server):
    environment = "netenv-failed"
    app = await client.apps.from_name("fails", environment=environment, create_if_missing=True)
    network = networks.for_environment(server.server_id, environment).name
    with pytest.raises(SbtuiError, match="no-such-program"):
        await client.sandboxes.create(app, image, command=["/no-such-program"], timeout=60)
    if server.engine == "swarm":
        # There an environment's network stays while the server runs (made again, it costs the
        # next sandbox's node the overlay's set-up); the server's next start removes it unused.
        assert await _network_labels(server, network) == {
            "io.sbtui.server": server.server_id,
            "io.sbtui.environment": environment,
        }
        return
    assert await _network_labels(server, network) is None
    # The same create with a program that exists makes the network, which is what went.
    sb = await client.sandboxes.create(app, image, timeout=60)
    assert (await networks_of(server, sb.sandbox_id))[1] == [network]
    await sb.terminate(wait=True)
    await until(lambda: _absent(server, network), 20, "the unused network's removal")


async def test_a_network_removed_behind_the_servers_back_is_made_again(client, image, server):
    """The server makes an environment's network once and then counts on it; one that someone
    else removed since is made again by the next create, which would otherwise fail on it."""
    environment = "netenv-gone"
    app = await client.apps.from_name("gone", environment=environment, create_if_missing=True)
    network = networks.for_environment(server.server_id, environment).name
    cli = engine_cli(server.engine)
    sb = await client.sandboxes.create(app, image, timeout=60)
    held = None
    if server.engine != "swarm":  # there the network stays while the server runs
        # A container of the test's own keeps the server from removing it as the sandbox ends
        # (on Podman with the limits its service can grant, as the server gives its own).
        host = {"NetworkMode": network, "Ulimits": ulimits_of(server.podman_pid)}
        config = {"Image": IMAGE, "Cmd": ["sleep", "600"], "HostConfig": host}
        async with aiodocker.Docker(url=server.engine_url) as docker:
            held = await docker.containers.run(config, name=f"netenv-gone-{secrets.token_hex(4)}")
    await sb.terminate(wait=True)
    if held:
        async with aiodocker.Docker(url=server.engine_url) as docker:
            await docker.containers.container(held.id).delete(force=True)
    # The sandbox's container (on swarm its service) lets go of the network once the server has
    # removed it, a moment after the sandbox ends.
    await until(lambda: _removes(cli, network), 30, f"network {network} to be removed by the test")
    sb = await client.sandboxes.create(app, image, timeout=60)
    assert (await networks_of(server, sb.sandbox_id))[1] == [network]
    await sb.terminate(wait=True)


def _removes(cli: list[str], network: str) -> bool:
    return subprocess.run([*cli, "network", "rm", network], capture_output=True, timeout=60).returncode == 0


@pytest.fixture
def own_server(engine):
    proc = ServerProcess(engine, new_state_dir(engine + "-netenv")).start()
    yield proc
    proc.dispose()


async def test_networks_outlive_a_restart_and_go_when_unused(own_server):
    server = own_server
    async with sbtui.Client.connect(server.address) as client:
        image = client.images.from_registry(IMAGE)
        kept_app = await client.apps.from_name("keep", environment="netenv-kept", create_if_missing=True)
        lost_app = await client.apps.from_name("lose", environment="netenv-lost", create_if_missing=True)
        target, lost = await asyncio.gather(
            client.sandboxes.create(kept_app, image, command=LISTEN, timeout=300),
            client.sandboxes.create(lost_app, image, timeout=300),
        )
    _, (kept_network,) = await networks_of(server, target.sandbox_id)
    _, (lost_network,) = await networks_of(server, lost.sandbox_id)
    server.kill()
    # One sandbox's container vanishes while no server runs: its network stays, unused.
    await engine_view.remove(server, lost.sandbox_id)
    assert await _network_labels(server, lost_network) is not None
    server.start()
    # The start removes the unused network and keeps the one in use.
    await until(lambda: _absent(server, lost_network), 20, "the unused network's removal")
    assert (await networks_of(server, target.sandbox_id))[1] == [kept_network]
    async with sbtui.Client.connect(server.address) as client:
        image = client.images.from_registry(IMAGE)
        target = await client.sandboxes.from_id(target.sandbox_id)
        peer, intruder = await asyncio.gather(
            client.sandboxes.create(kept_app, image, timeout=120),
            client.sandboxes.create(lost_app, image, timeout=120),
        )
        # The adopted sandbox is still reached from its environment only.
        await _listening(target)
        address = await _address(target)
        assert await _reached(peer, address) == set(PORTS)
        assert await _reached(intruder, address) == set()
        await intruder.terminate(wait=True)
        if server.engine == "swarm":
            return  # networks stay while the server runs there (see the test above)
        # Its environment's network goes with the last container on it.
        await until(lambda: _absent(server, lost_network), 20, "the unused network's removal")
        await peer.terminate(wait=True)
        assert await _network_labels(server, kept_network) is not None  # the target is on it
        await target.terminate(wait=True)
        await until(lambda: _absent(server, kept_network), 20, "the unused network's removal")


async def _internal(server, network: str) -> bool:
    async with aiodocker.Docker(url=server.engine_url) as docker:
        return bool((await docker._query_json(f"networks/{network}")).get("Internal"))


async def _absent(server, network: str) -> bool:
    return await _network_labels(server, network) is None


async def test_on_a_docker_that_can_deadlock_one_networks_kills_go_one_at_a_time(client, app, image, server):
    """Docker before 20.10.27 can deadlock for good when two containers leave one network at
    once (networks.MembershipChanges): the whole engine then hangs. Terminating four sandboxes
    of one environment at once, the engine must see each kill only after the previous killed
    container has died (its network released before its `die`)."""
    if server.engine != "docker":
        pytest.skip("only Docker's networks have that deadlock (Podman has no libnetwork)")
    async with aiodocker.Docker(url=server.engine_url) as docker:
        version = (await docker.version())["Version"]
        if not networks.changes_collide("docker", version):
            pytest.skip(f"Docker {version} has the fix: its kills need not wait on each other")
        sbs = await asyncio.gather(*(client.sandboxes.create(app, image) for _ in range(4)))
        ids = {sb.sandbox_id for sb in sbs}
        params = {
            "filters": json.dumps(
                {"type": ["container"], "event": ["kill", "die"], "label": [LABEL_SANDBOX]}
            ),
            "since": str(int(time.time()) - 1),
        }
        seen: list[tuple[str, str]] = []  # (action, sandbox id), in the engine's order
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with docker._query("events", params=params, timeout=timeout) as response:
            await asyncio.gather(*(sb.terminate() for sb in sbs))

            async def four_deaths() -> None:
                async for line in response.content:
                    event = json.loads(line)
                    sandbox = (event.get("Actor") or {}).get("Attributes", {}).get(LABEL_SANDBOX)
                    if sandbox in ids:
                        seen.append((event["Action"], sandbox))
                        if sum(action == "die" for action, _ in seen) == len(ids):
                            return

            await asyncio.wait_for(four_deaths(), 60)
    # Each kill is followed by that container's death before anything else happens to the others.
    kills = [i for i, (action, _) in enumerate(seen) if action == "kill"]
    assert len(kills) == len(ids), seen
    for at in kills:
        assert seen[at + 1] == ("die", seen[at][1]), seen
