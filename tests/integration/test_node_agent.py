"""The node agent (`sbtui node`) as the server's client sees it: a real agent process on
127.0.0.1 with real mutual TLS, on the engine of each test server, its containers made on the
engine directly. Each call behaves as DockerRuntime's does locally."""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from sbtui.server.cluster_ca import ClusterCA
from sbtui.server.runtime.base import EngineNotFound, ExecSpec
from sbtui.server.runtime.node_client import NodeAgentClient
from tests.node_agents import AgentProcess, node_certs
from tests.servers import IMAGE, new_state_dir, remove_images, until

pytestmark = pytest.mark.engine
NODE = "node-a"
LABEL = "io.sbtui.agent-test"


@pytest.fixture(scope="session")
def cluster(server):
    """A cluster CA, and an agent of node-a on the test server's engine."""
    state = new_state_dir(f"{server.engine}-agent")
    ca = ClusterCA(state)
    agent = AgentProcess(node_certs(ca, NODE, state / "node-a"), server.engine_url, state).start()
    yield ca, agent
    assert agent.stop() == 0, agent.errors.read_text()  # SIGTERM stops it cleanly
    shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
async def node(cluster):
    ca, agent = cluster
    client = NodeAgentClient(agent.address, NODE, ca.server_credentials())
    yield client
    await client.close()


@pytest.fixture
def containers(engine):
    """run(*command, labels=...) starts a container on the engine; all removed at the end."""
    made: list[str] = []

    def run(*command: str, label: str = "") -> str:
        options = ["--label", f"{LABEL}={label or 'yes'}"]
        if engine == "podman":
            # Podman's default rlimits are more than runc may set here (see docker.py).
            options += ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
        out = subprocess.run(
            [engine, "run", "-d", *options, IMAGE, *command], capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
        made.append(out.stdout.strip())
        return made[-1]

    yield run
    if made:
        # Podman's rm stops a container first, waiting 10 s for a `sleep` that ignores SIGTERM.
        at_once = ["--time", "0"] if engine == "podman" else []
        subprocess.run([engine, "rm", "--force", *at_once, *made], capture_output=True, timeout=120)


async def _all_output(session) -> list[tuple[int, bytes]]:
    chunks = []
    while (chunk := await session.read()) is not None:
        chunks.append(chunk)
    return chunks


def _joined(chunks, fd: int) -> bytes:
    return b"".join(data for f, data in chunks if f == fd)


async def test_info_names_the_node_and_its_engine(node, engine):
    info = await node.info()
    assert (info.node_name, info.engine) == (NODE, engine)
    assert info.engine_version and info.agent_version


async def test_exec_with_pipes_carries_stdin_its_end_output_and_exit_code(node, containers):
    cid = containers("sleep", "300")
    session = await node.exec(cid, ExecSpec(["sh", "-c", "cat; echo to-stderr >&2; exit 3"]))
    try:
        await session.write(b"hello\n")
        await session.close_stdin()  # without it cat would never end
        chunks = await _all_output(session)
        assert _joined(chunks, 1) == b"hello\n"
        assert _joined(chunks, 2) == b"to-stderr\n"
        assert await session.exit_code() == 3
    finally:
        await session.close()


async def test_exec_with_a_terminal_is_resized(node, containers):
    cid = containers("sleep", "300")
    session = await node.exec(cid, ExecSpec(["sh"], tty=True, rows=33, cols=91))
    seen = bytearray()

    async def shows(text: bytes) -> bool:
        while text not in seen:
            chunk = await session.read()
            assert chunk is not None, f"output ended before {text!r}: {bytes(seen)!r}"
            seen.extend(chunk[1])
        return True

    try:
        await session.write(b"stty size\n")
        await asyncio.wait_for(shows(b"33 91"), 30)
        await session.resize(40, 100)
        await session.write(b"stty size; exit 4\n")
        await asyncio.wait_for(shows(b"40 100"), 30)
        await _all_output(session)
        assert await session.exit_code() == 4
    finally:
        await session.close()


async def test_exec_signal_reaches_the_command(node, containers):
    cid = containers("sleep", "300")
    session = await node.exec(cid, ExecSpec(["sh", "-c", "echo ready; exec sleep 300"], stdin=False))
    try:
        assert await asyncio.wait_for(session.read(), 30) == (1, b"ready\n")
        await session.signal(signal.SIGTERM)
        assert await asyncio.wait_for(_all_output(session), 30) == []
        assert await session.exit_code() == 128 + signal.SIGTERM
    finally:
        await session.close()


async def test_exec_in_a_missing_container_is_engine_not_found(node):
    with pytest.raises(EngineNotFound):
        await node.exec("no-such-container-" + secrets.token_hex(4), ExecSpec(["true"]))


async def test_kill_execs_ends_the_execs_left_running(node, containers):
    cid = containers("sleep", "300")
    session = await node.exec(cid, ExecSpec(["sh", "-c", "echo ready; sleep 300"], stdin=False))
    try:
        assert await asyncio.wait_for(session.read(), 30) == (1, b"ready\n")
        await node.kill_execs([cid])
        await asyncio.wait_for(_all_output(session), 30)
        assert await session.exit_code() == 128 + signal.SIGKILL
    finally:
        await session.close()


async def test_dial_splices_both_ways_with_half_closes(node, containers):
    # `cat` echoes what it gets and ends at its end of input, closing the connection.
    cid = containers("nc", "-ll", "-p", "8000", "-e", "cat")

    async def dialled():
        try:
            return await node.dial(cid, 8000)
        except ConnectionRefusedError:
            return None  # nc is not listening yet

    reader, writer = await until(dialled, 30, "nc to listen in the container")
    try:
        writer.write(b"ping over the node\n")
        await writer.drain()
        writer.write_eof()  # cat ends only once it reads the end: the half-close went through
        received = b""
        while data := await asyncio.wait_for(reader.read(65536), 30):
            received += data
        assert received == b"ping over the node\n"  # and its half-close came back
    finally:
        writer.close()
        await writer.wait_closed()


async def test_dial_to_a_closed_port_is_refused_clearly(node, containers):
    cid = containers("sleep", "300")
    with pytest.raises(ConnectionRefusedError, match=f"node {NODE}.*port 8001 of container {cid[:12]}"):
        await node.dial(cid, 8001)


async def test_logs_follow_tail_and_last_output(node, containers, engine):
    cid = containers("sh", "-c", "echo one; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo two >&2")
    followed: list[tuple[int, bytes]] = []

    async def follow():
        async for chunk in node.logs(cid, follow=True, tty=False):
            followed.append(chunk)

    following = asyncio.create_task(follow())
    await until(lambda: followed, 30, "the first line to be followed")
    assert followed == [(1, b"one\n")]
    go = await node.exec(cid, ExecSpec(["touch", "/tmp/go"], stdin=False))
    await _all_output(go)
    await go.close()
    await asyncio.wait_for(following, 30)  # ends as the container does
    if len(followed) == 1:
        # An engine may end a follow at the exit before the last lines (logs.stream reads
        # the log again then).
        followed = [chunk async for chunk in node.logs(cid, follow=False, tty=False)]
    assert followed == [(1, b"one\n"), (2, b"two\n")]
    assert [chunk async for chunk in node.logs(cid, follow=False, tty=False, tail=1)] == [(2, b"two\n")]
    assert await node.last_output(cid, tty=False, size=4) == [(2, b"two\n")]


async def test_commit_makes_the_image_and_pushes_to_a_registry(node, containers, engine, registry):
    cid = containers("sh", "-c", "echo committed > /marker; sleep 300")
    await until(
        lambda: subprocess.run([engine, "exec", cid, "test", "-e", "/marker"]).returncode == 0,
        30,
        "the marker to be written",
    )
    tag = secrets.token_hex(4)
    repo = f"{registry.host}/sbtui/snap-agent-test"
    image_id = await node.commit(cid, repo, tag, {LABEL: "committed"}, ["PATH=/bin"])
    try:
        inspected = json.loads(
            subprocess.run(
                [engine, "image", "inspect", f"{repo}:{tag}"], capture_output=True, timeout=60, check=True
            ).stdout
        )[0]
        assert inspected["Id"].removeprefix("sha256:") == image_id.removeprefix("sha256:")
        assert inspected["Config"]["Env"] == ["PATH=/bin"]
        with urllib.request.urlopen(f"http://{registry.host}/v2/sbtui/snap-agent-test/tags/list") as reply:
            assert tag in json.load(reply)["tags"]  # pushed: another node can pull it
    finally:
        remove_images([engine], [image_id])


async def test_events_carry_a_containers_start_and_exit(node, containers):
    label = f"{LABEL}=events-{secrets.token_hex(4)}"
    subscribed = asyncio.Event()
    seen: list[tuple[str, str, dict[str, str]]] = []

    async def follow():
        async for event in node.events(label, subscribed.set):
            seen.append(event)

    following = asyncio.create_task(follow())
    try:
        await asyncio.wait_for(subscribed.wait(), 30)
        cid = containers("true", label=label.split("=", 1)[1])
        await until(lambda: any(e[:2] == ("exit", cid) for e in seen), 60, "the container's exit")
        assert any(e[:2] == ("new", cid) for e in seen)
        assert all(e[2].get(LABEL) == label.split("=", 1)[1] for e in seen)
    finally:
        following.cancel()


def test_the_agent_refuses_a_key_others_can_read(cluster, tmp_path: Path):
    ca, agent = cluster
    certs = node_certs(ca, "node-b", tmp_path / "certs")
    (certs / "node.key").chmod(0o640)
    run = subprocess.run(
        AgentProcess(certs, agent.engine_url, tmp_path).command(), capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 1
    assert "node.key can be read by other users (mode 0640)" in run.stderr


async def test_a_session_closed_after_a_kill_leaves_no_process(node, containers, engine):
    """What the server does with the session of a client that went away: SIGKILL, then close.
    The agent carries both in order, so the kill is not lost to the close."""
    cid = containers("sleep", "300")
    session = await node.exec(cid, ExecSpec(["sh", "-c", "echo ready; exec sleep 302"], stdin=False))
    assert await asyncio.wait_for(session.read(), 30) == (1, b"ready\n")
    await session.signal(signal.SIGKILL)
    await session.close()

    def gone() -> bool:
        ps = subprocess.run([engine, "exec", cid, "ps"], capture_output=True, text=True, timeout=60)
        return ps.returncode == 0 and "sleep 302" not in ps.stdout

    await until(gone, 30, "the exec's process to end")
