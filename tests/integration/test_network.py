"""Network policy: block_network and cidr_allowlist, proven with traffic only between
sandboxes this test creates (and their own loopback)."""

from __future__ import annotations

import asyncio
import json
import subprocess

import aiodocker
import pytest

from sbtui.client import SbtuiError
from tests import reach
from tests.reach import LISTEN, listening, reaches
from tests.servers import until


async def test_cidr_allowlist_reaches_only_the_listed_ranges(client, app, image, one_node):
    # On one node: a new sandbox on a node the network had no task on yet learns the others'
    # addresses by gossip, which has taken over the 2 s of one try under the full suite's load
    # (docs/scale-out.md), so a refusal could be the gossip's and not the fence's. Reach across
    # nodes is test_swarm's.
    allowed = await client.sandboxes.create(app, image, command=LISTEN, **one_node)
    other = await client.sandboxes.create(app, image, command=LISTEN, **one_node)
    try:
        await listening(allowed)
        await listening(other)
        allowed_ip, other_ip = await reach.address(allowed), await reach.address(other)
        assert allowed_ip != other_ip
        open_sb = await client.sandboxes.create(app, image, **one_node)
        fenced = await client.sandboxes.create(
            app, image, cidr_allowlist=[f"{allowed_ip}/32"], command=LISTEN, **one_node
        )
        try:
            # Without an allowlist both are reachable: the fence below is what stops one.
            assert await reaches(open_sb, allowed_ip) and await reaches(open_sb, other_ip)
            assert await reaches(fenced, allowed_ip)
            assert not await reaches(fenced, other_ip)
            # Its own loopback still works, and connections made into it still get answers.
            await listening(fenced)
            assert await reaches(open_sb, await reach.address(fenced))
        finally:
            await open_sb.terminate()
            assert await fenced.terminate(wait=True) == 137
    finally:
        await allowed.terminate()
        await other.terminate()


async def test_the_commands_first_connection_is_fenced_already(client, app, image, one_node):
    """The allowlist is in force before the sandbox's command starts (on one engine the
    namespace it joins is fenced first; on a cluster the command waits behind a gate until the
    node's agent has set the firewall): its very first connection is refused, where the same
    command without an allowlist reaches the peer. All three on one node: the subject is the
    fence, not how soon the overlay between nodes carries a new sandbox's traffic."""
    target = await client.sandboxes.create(app, image, command=LISTEN, **one_node)
    try:
        await listening(target)
        first = (
            f"echo ping | nc -w 2 {await reach.address(target)} 7000 > /tmp/first 2> /tmp/why;"
            " echo $? >> /tmp/why; touch /tmp/done; sleep 600"
        )
        unfenced = await client.sandboxes.create(app, image, command=["sh", "-c", first], **one_node)
        fenced = await client.sandboxes.create(
            app, image, command=["sh", "-c", first], cidr_allowlist=["192.0.2.0/24"], **one_node
        )

        async def first_answer(sb) -> tuple[bytes, bytes]:
            """What the first connection got, and nc's complaint and exit code."""

            async def done():
                p = await sb.exec(["sh", "-c", "test -e /tmp/done && cat /tmp/first && cat /tmp/why >&2"])
                out, why = await asyncio.gather(p.stdout.read(), p.stderr.read())
                return [(out, why)] if await p.wait() == 0 else None  # out b"": no answer

            return (await until(done, 20, f"the first connection of {sb.sandbox_id} to end"))[0]

        answer, why = await first_answer(unfenced)
        assert answer == b"pong\n", f"the unfenced command's connection failed: {why!r}"
        answer, why = await first_answer(fenced)
        assert answer == b"", f"the fenced command's first connection got through: {why!r}"
        await unfenced.terminate()
        await fenced.terminate()
    finally:
        await target.terminate()


async def test_an_allowlisted_command_runs_as_given(client, app, image):
    """Behind the allowlist the command is the sandbox's first process, with the argv it was
    given (on a cluster: what the gate's shell execs, found in the image's PATH); one the image
    doesn't have fails the create, naming it."""
    sb = await client.sandboxes.create(app, image, command=["sleep", "600"], cidr_allowlist=["192.0.2.0/24"])
    try:
        p = await sb.exec(["cat", "/proc/1/cmdline"])
        assert await p.stdout.read() == b"sleep\x00600\x00"
    finally:
        await sb.terminate()
    with pytest.raises(SbtuiError, match="no-such-program.*not found"):
        await client.sandboxes.create(
            app, image, command=["no-such-program"], cidr_allowlist=["192.0.2.0/24"]
        )


async def test_allowlisted_sandbox_keeps_its_tunnels(client, app, image):
    sb = await client.sandboxes.create(
        app, image, cidr_allowlist=["192.0.2.0/24"], unencrypted_ports=[7000], command=LISTEN
    )
    tunnel = (await sb.tunnels(timeout=20))[7000]
    host, port = tunnel.tcp_socket()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"ping\n")
    assert await asyncio.wait_for(reader.readline(), 10) == b"pong\n"
    writer.close()
    await sb.terminate()


async def test_block_network_sees_no_other_sandbox(client, app, image):
    target = await client.sandboxes.create(app, image, command=LISTEN)
    blocked = await client.sandboxes.create(app, image, block_network=True)
    try:
        await listening(target)
        assert not await reaches(blocked, await reach.address(target))
    finally:
        await target.terminate()
        await blocked.terminate()


def _holders_only_on_one_engine(server) -> None:
    if server.engine == "swarm":
        pytest.skip(
            "on swarm no container holds the namespace: the command waits behind a gate until the "
            "node's agent has set the firewall (test_the_commands_first_connection_is_fenced_already)"
        )


async def test_the_network_namespace_goes_with_the_sandbox(client, app, image, server):
    _holders_only_on_one_engine(server)
    sb = await client.sandboxes.create(app, image, cidr_allowlist=["10.0.0.0/8"])
    await sb.terminate(wait=True)
    tool = (
        ["docker"]
        if server.engine == "docker"
        else ["podman", "--url", f"unix://{server.state_dir / 'podman.sock'}"]
    )
    name = f"sbtui-{sb.sandbox_id}-net"

    def gone() -> bool:
        out = subprocess.run(
            tool + ["ps", "-a", "--filter", f"name={name}", "--format", "{{.Names}}"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return name not in out.stdout

    deadline = asyncio.get_running_loop().time() + 20
    while not gone():
        assert asyncio.get_running_loop().time() < deadline, f"{name} was not removed"
        await asyncio.sleep(0.1)


async def test_allowlist_survives_a_server_restart(engine):
    import sbtui
    from tests.servers import IMAGE, ServerProcess, new_state_dir

    proc = ServerProcess(engine, new_state_dir(engine + "-net")).start()
    try:
        async with sbtui.Client.connect(proc.address) as client:
            app = await client.apps.from_name("net-restart", create_if_missing=True)
            sb = await client.sandboxes.create(
                app, client.images.from_registry(IMAGE), cidr_allowlist=["192.0.2.0/24"], command=LISTEN
            )
        proc.kill()
        proc.start()
        async with sbtui.Client.connect(proc.address) as client:
            sb = await client.sandboxes.from_id(sb.sandbox_id)
            await listening(sb)  # its namespace, loopback included, was kept
            other = await client.sandboxes.create(app, client.images.from_registry(IMAGE), command=LISTEN)
            await listening(other)
            assert not await reaches(sb, await reach.address(other))  # and still fenced
            await other.terminate()
            assert await sb.terminate(wait=True) == 137
    finally:
        proc.dispose()


async def test_a_namespace_holder_that_fails_to_start_is_removed(client, app, image, server):
    _holders_only_on_one_engine(server)
    # The holder runs `sleep` from the sandbox's image: from an image without it, it is
    # created but can't start. The create fails saying so, and leaves no container behind.
    source = await client.sandboxes.create(app, image, command=["sleep", "300"], timeout=120)
    try:
        p = await source.exec(["rm", "/bin/sleep"])
        assert await p.wait() == 0
        sleepless = await source.snapshot_filesystem()
    finally:
        await source.terminate()
    before = {c.id for c in await _holders(server)}
    with pytest.raises(SbtuiError, match="network namespace") as caught:
        await client.sandboxes.create(
            app, sleepless, command=["sh", "-c", "exec cat"], cidr_allowlist=["127.0.0.1/32"], timeout=60
        )
    assert "sleep" in str(caught.value)
    assert {c.id for c in await _holders(server)} <= before


async def _holders(server) -> list:
    """The network namespace holders of this server, as the engine lists them."""
    async with aiodocker.Docker(url=server.engine_url) as docker:
        return await docker.containers.list(
            all=True,
            filters=json.dumps({"label": [f"io.sbtui.server={server.server_id}", "io.sbtui.network-of"]}),
        )


async def test_cidr_allowlist_fences_the_engines_resolver(client, app, image, server):
    """On Docker a sandbox's network is a user network, whose resolver is dockerd itself at
    127.0.0.11, on the sandbox's own loopback: it forwards the names it does not know to the
    host's resolvers, a way out that an allowlist must close unless it lists that address. It
    answers the names of the network's containers itself, so asking for one sends nothing off
    this machine."""
    if server.engine != "docker":
        pytest.skip(
            "only Docker puts a resolver on the sandbox's loopback; Podman's sandboxes "
            "use the host's resolvers, fenced like any address (test_network_matrix.py)"
        )
    target = await client.sandboxes.create(app, image, command=LISTEN)
    made = [target]
    try:
        await listening(target)
        address = await reach.address(target)
        made += await asyncio.gather(
            client.sandboxes.create(app, image),
            client.sandboxes.create(app, image, cidr_allowlist=[f"{address}/32"]),
            client.sandboxes.create(app, image, cidr_allowlist=["127.0.0.11/32"]),
        )
        open_sb, fenced, resolver_listed = made[1:]

        async def resolves(sb) -> bool:
            p = await sb.exec(["sh", "-c", f"timeout 10 nslookup sbtui-{target.sandbox_id}"])
            out = await asyncio.wait_for(p.stdout.read(), 20)
            await p.wait()
            return f"Address: {address}" in out.decode()

        assert await resolves(open_sb) and await resolves(resolver_listed)
        assert not await resolves(fenced)
        assert await reaches(fenced, address)  # what it lists, it still reaches
    finally:
        await asyncio.gather(*(sb.terminate() for sb in made), return_exceptions=True)
