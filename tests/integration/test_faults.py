"""kill -9 of the server in the middle of deadlines, creates and exec sessions; the engine
going away under a running server.

Each test runs its own server and kills it with SIGKILL, so it gets no chance to clean up. The
restarted server must lose no sandbox, leave no container running that it does not know, and
end every sandbox within LATE seconds of its deadline; clients get errors, never hangs, and
carry on by themselves once the server is back.

The engine's faults: the Podman API service the server runs is killed (the server restarts
it), and a dockerd of the test's own (tests/own_dockerd.py) is stopped and started again.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import aiodocker
import pytest

import sbtui
from sbtui.client import (
    ConnectionLostError,
    EngineState,
    EngineUnavailableError,
    EventKind,
    Sandbox,
    SandboxState,
    SandboxTimeoutError,
    TerminationReason,
)
from sbtui.server.engine_watch import CHECK_EVERY, HUNG_AFTER
from tests import engine_view
from tests.own_dockerd import OwnDockerd
from tests.servers import IMAGE, REPORTED, ROOT, ServerProcess, available_engines, new_state_dir, until

LATE = 1.0  # the promise: the server ends a sandbox at most this long after its deadline
# How long the engine may then take to carry the kill out: Podman, given four at once beside the
# rest of the suite, has taken 1.2 s more for the last.
CARRIED_OUT = 10.0
LABEL_SANDBOX = "io.sbtui.sandbox"
LABEL_NETWORK_OF = "io.sbtui.network-of"


async def _labelled(server: ServerProcess) -> list[dict]:
    """The containers (services on swarm) carrying this server's label, as the engine lists them."""
    return await engine_view.labelled(server)


async def _first_running(client, app, synced: asyncio.Event) -> None:
    """Return once the server reports a sandbox of `app` running; `synced` is set once the
    watch is in place."""
    async for event in client.sandboxes.watch(app_id=app.app_id):
        if event.kind == EventKind.SYNCED:
            synced.set()
        elif event.sandbox is not None and event.sandbox.state == SandboxState.RUNNING:
            return


async def _until(condition, timeout: float, what: str):
    """Await `condition()` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
def own_server(engine):
    proc = ServerProcess(engine, new_state_dir(engine + "-faults")).start()
    yield proc
    proc.dispose()  # with the sandboxes a failed test leaves behind a killed server


async def _app_and_image(client):
    app = await client.apps.from_name("faults", create_if_missing=True)
    image = client.images.from_registry(IMAGE)
    await image.resolve()  # so that creates don't race to resolve it
    return app, image


async def _ended_by_deadline(client, sandbox_id: str):
    """Wait for the sandbox to be stopped by a deadline: (when the client saw it, its info)."""
    sb = await client.sandboxes.from_id(sandbox_id)
    with pytest.raises(SandboxTimeoutError):
        await asyncio.wait_for(sb.wait(), 30)
    seen = time.time()
    return seen, await sb.refresh()


def _acted_at(server: ServerProcess, sandbox_id: str) -> float:
    """When the server began ending `sandbox_id` for a deadline, by its log ("reached its")."""
    for line in server.log_text().splitlines():
        if f"sandbox {sandbox_id} reached its" in line:
            return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    raise AssertionError(f"the server never said {sandbox_id} reached a deadline")


def _on_time(server: ServerProcess, info, due: float, seen: float) -> None:
    """Ended by the server no earlier than `due` and at most LATE after it, by its own log; the
    engine then finished it (its finish time, the server's record) within CARRIED_OUT; the
    client told of it within REPORTED of that."""
    acted = _acted_at(server, info.sandbox_id)
    assert due - 0.001 <= acted <= due + LATE, (info.sandbox_id, acted - due)  # the log cuts to ms
    assert acted <= info.finished_at <= acted + CARRIED_OUT, (info.sandbox_id, info.finished_at - acted)
    assert seen <= info.finished_at + REPORTED, (info.sandbox_id, seen - info.finished_at)


async def test_deadlines_are_rearmed_after_kill_9(own_server):
    async with sbtui.Client.connect(own_server.address) as client:
        app, image = await _app_and_image(client)
        # Deadlines a few seconds after the kill, so that the restart comes before them.
        timed = await client.sandboxes.create(app, image, timeout=9)
        idle = await client.sandboxes.create(app, image, idle_timeout=8, timeout=60)
        busy = await client.sandboxes.create(app, image, idle_timeout=5, timeout=60)
        active = await client.sandboxes.create(app, image, idle_timeout=5, timeout=60)
        # Open when the server dies: activity until then, not from its start.
        sleeping = await busy.exec(["sleep", "600"])
        # Execs back to back for a few seconds: the last one is the last activity.
        started = time.time()
        while time.time() < started + 2.5:
            last_begun = time.time()
            p = await active.exec(["true"])
            assert await p.wait() == 0
        last_exec = time.time()
        killed = time.time()
        own_server.kill()
        with pytest.raises(ConnectionLostError):
            await asyncio.wait_for(sleeping.wait(), 10)
    own_server.start()
    back = time.time()

    async with sbtui.Client.connect(own_server.address) as client:
        ends = await asyncio.gather(
            *(_ended_by_deadline(client, sb.sandbox_id) for sb in (timed, idle, busy, active))
        )
    (timed_seen, timed_info), (idle_seen, idle_info), (busy_seen, busy_info), (active_seen, active_info) = (
        ends
    )

    assert timed_info.termination_reason == TerminationReason.TIMEOUT
    assert timed_info.deadline == timed_info.created_at + 9
    dues = {"timed": timed_info.deadline}
    _on_time(own_server, timed_info, timed_info.deadline, timed_seen)

    assert idle_info.termination_reason == TerminationReason.IDLE_TIMEOUT
    assert idle_info.last_activity == idle_info.created_at  # nothing happened in it
    dues["idle"] = idle_info.last_activity + 8
    _on_time(own_server, idle_info, dues["idle"], idle_seen)

    # The open exec kept the sandbox active up to the kill (recorded at least every second).
    assert busy_info.termination_reason == TerminationReason.IDLE_TIMEOUT
    assert killed - 1.5 <= busy_info.last_activity <= killed, busy_info.last_activity - killed
    dues["busy"] = busy_info.last_activity + 5
    _on_time(own_server, busy_info, dues["busy"], busy_seen)

    assert active_info.termination_reason == TerminationReason.IDLE_TIMEOUT
    # Saved as the last exec began and ended (the kill may come before the server saves its end).
    assert last_begun <= active_info.last_activity <= last_exec + 0.1, (
        active_info.last_activity - last_begun,
        last_exec - last_begun,
    )
    dues["active"] = active_info.last_activity + 5
    _on_time(own_server, active_info, dues["active"], active_seen)

    # Otherwise these deadlines passed while the server was down, and nothing was re-armed.
    assert back < min(dues.values()), (back, dues)


async def test_kill_9_in_the_middle_of_creates_loses_and_orphans_nothing(own_server):
    client = await sbtui.Client.connect(own_server.address)
    try:
        app, image = await _app_and_image(client)
        synced = asyncio.Event()
        first_running = asyncio.create_task(_first_running(client, app, synced))
        await asyncio.wait_for(synced.wait(), 15)
        creates = [
            asyncio.create_task(
                client.sandboxes.create(
                    app,
                    image,
                    timeout=120,
                    name=f"c{i}",
                    # Half of them start a network namespace holder first: two containers each.
                    cidr_allowlist=["127.0.0.1/32"] if i % 2 else None,
                )
            )
            for i in range(8)
        ]
        # Killed as soon as a first sandbox runs, its container up in the engine: the other
        # creates are in flight. (The engine can't tell sooner: Podman answers a container list
        # only once the creates in progress are done, and reports their events late.)
        await asyncio.wait_for(first_running, 60)
        own_server.kill()
        outcomes = await asyncio.wait_for(asyncio.gather(*creates, return_exceptions=True), 30)
        made = [o for o in outcomes if isinstance(o, Sandbox)]
        failed = [o for o in outcomes if not isinstance(o, Sandbox)]
        assert failed, "every create finished before the kill: none was in the middle"
        assert all(isinstance(e, ConnectionLostError) for e in failed), failed

        own_server.start()
        # The same client, reconnected by itself.
        listed = {
            s.sandbox_id: s.info
            async for s in client.sandboxes.list(app_id=app.app_id, include_finished=True)
        }
        for sb in made:
            assert listed[sb.sandbox_id].state == SandboxState.RUNNING
        # A create cut short either runs (its container was started: adopted) or failed to start.
        assert all(
            info.state == SandboxState.RUNNING or info.termination_reason == TerminationReason.FAILED_TO_START
            for info in listed.values()
        ), {i: (info.state, info.termination_reason) for i, info in listed.items()}
        running = {i for i, info in listed.items() if info.state == SandboxState.RUNNING}

        async def engine_agrees():
            containers = await _labelled(own_server)
            mains = {c["labels"].get(LABEL_SANDBOX) for c in containers} - {None}
            owners = {c["labels"].get(LABEL_SANDBOX) or c["labels"].get(LABEL_NETWORK_OF) for c in containers}
            running_all = all(c["state"] == "running" for c in containers)
            return mains == running and owners <= running and running_all

        # Every container left is a running sandbox's (or its network holder); every running
        # sandbox has its container.
        await _until(engine_agrees, 15, "the engine's containers to match the running sandboxes")
        for sandbox_id in running:
            sb = await client.sandboxes.from_id(sandbox_id)
            # Its own command runs (on swarm let through its gate, by the server that made it or
            # by the restarted one: runtime/launcher.py).
            p = await sb.exec(["cat", "/proc/1/cmdline"])
            assert await p.stdout.read() == b"sleep\x00infinity\x00"
            assert await sb.terminate(wait=True) == 137
    finally:
        await client.close()


async def _drain(stream) -> None:
    """Read until the stream ends; a cut stream raises."""
    while await stream.read(65536):
        pass


async def _read_until(stream, needle: bytes) -> None:
    seen = b""
    while needle not in seen:
        chunk = await stream.read(4096)
        assert chunk, f"stream ended before {needle!r}; got {seen!r}"
        seen += chunk


async def test_kill_9_in_the_middle_of_exec_sessions(own_server):
    # One Client object for the whole test: it must carry on by itself after the restart.
    client = await sbtui.Client.connect(own_server.address)
    try:
        app, image = await _app_and_image(client)
        piped = await client.sandboxes.create(app, image, timeout=120)
        terminal = await client.sandboxes.create(app, image, timeout=120)
        ticking = await piped.exec(["sh", "-c", "while true; do echo tick; sleep 0.1; done"])
        sleeping = await piped.exec(["sleep", "600"])
        shell = await terminal.exec(["sh"], pty=True)
        shell.stdin.write(b"echo rea''dy\n")
        await asyncio.wait_for(_read_until(shell.stdout, b"ready"), 15)
        assert await asyncio.wait_for(ticking.stdout.readline(), 15) == b"tick\n"
        readers = [asyncio.create_task(_drain(s)) for s in (ticking.stdout, shell.stdout)]

        own_server.kill()
        # Every session and every reader learns it at once (keepalive bounds it off this host).
        for waiting in (ticking.wait(), sleeping.wait(), shell.wait(), *readers):
            with pytest.raises(ConnectionLostError):
                await asyncio.wait_for(waiting, 10)
        # While the server is down, calls fail instead of hanging.
        with pytest.raises(ConnectionLostError):
            await asyncio.wait_for(piped.poll(), 15)
        with pytest.raises(ConnectionLostError):
            await asyncio.wait_for(terminal.exec(["true"]), 15)

        own_server.start()
        for sb in (piped, terminal):
            assert (await sb.refresh()).state == SandboxState.RUNNING
            # The sessions' processes died with their streams: nothing is left running unseen.
            # (Zombies are dead: children orphaned by the kill wait there for a reaper, and
            # the main command, not an init, is the sandbox's process 1.)
            p = await sb.exec(["ps", "-o", "stat,args"])
            rows = [line.split(None, 1) for line in (await p.stdout.read()).decode().splitlines()[1:]]
            assert await p.wait() == 0
            assert [args for stat, args in rows if not stat.startswith("Z")] == [
                "sleep infinity",
                "ps -o stat,args",
            ], rows
        # Calls that are never retried (create, exec) work at once too.
        extra = await client.sandboxes.create(app, image, timeout=120)
        for sb in (piped, terminal, extra):
            assert await sb.terminate(wait=True) == 137
    finally:
        await client.close()


async def test_a_lost_sandbox_leaves_no_network_holder_behind(own_server):
    if own_server.engine == "swarm":
        pytest.skip("no container holds a sandbox's namespace on swarm (see the test below)")
    async with sbtui.Client.connect(own_server.address) as client:
        app, image = await _app_and_image(client)
        sb = await client.sandboxes.create(app, image, timeout=120, cidr_allowlist=["127.0.0.1/32"])
    own_server.kill()
    # Its container vanishes while no server runs; the holder of its network namespace stays.
    async with aiodocker.Docker(url=own_server.engine_url) as docker:
        await docker.containers.container(f"sbtui-{sb.sandbox_id}").delete(force=True)
    assert [c["labels"].get(LABEL_NETWORK_OF) for c in await _labelled(own_server)] == [sb.sandbox_id]
    own_server.start()
    async with sbtui.Client.connect(own_server.address) as client:
        info = await (await client.sandboxes.from_id(sb.sandbox_id)).refresh()
    assert info.state == SandboxState.FINISHED
    assert info.termination_reason == TerminationReason.LOST
    assert await _labelled(own_server) == []


async def test_a_lost_sandbox_on_swarm_leaves_no_network_behind(own_server):
    """A block_network sandbox has a network of its own there: its service vanishing while no
    server runs leaves that network, which the restarted server removes."""
    if own_server.engine != "swarm":
        pytest.skip("a network of a sandbox's own is the swarm's (one engine: the test above)")
    async with sbtui.Client.connect(own_server.address) as client:
        app, image = await _app_and_image(client)
        sb = await client.sandboxes.create(app, image, timeout=120, block_network=True)
    (own,) = (await engine_view.networks_of(own_server, sb.sandbox_id))[1]
    own_server.kill()
    await engine_view.remove(own_server, sb.sandbox_id)
    own_server.start()
    async with sbtui.Client.connect(own_server.address) as client:
        info = await (await client.sandboxes.from_id(sb.sandbox_id)).refresh()
    assert info.state == SandboxState.FINISHED
    assert info.termination_reason == TerminationReason.LOST

    async def network_gone():
        async with aiodocker.Docker(url=own_server.engine_url) as docker:
            try:
                await docker._query_json(f"networks/{own}")
            except aiodocker.DockerError as err:
                return err.status == 404
        return False

    await _until(network_gone, 30, f"the lost sandbox's network {own} to be removed")
    assert await _labelled(own_server) == []


async def _make_late(server: ServerProcess, labels: dict[str, str], name: str) -> None:
    """What a killed server's create leaves for the engine to carry out: a container (on swarm,
    a service, on the manager, which has the image) with the server's labels."""
    async with aiodocker.Docker(url=server.engine_url) as docker:
        if server.engine == "swarm":
            spec = {
                "Name": name,
                "Labels": labels,
                "TaskTemplate": {
                    "ContainerSpec": {"Image": IMAGE, "Args": ["sleep", "600"], "Labels": labels},
                    "RestartPolicy": {"Condition": "none"},
                    "Placement": {"Constraints": ["node.role==manager"]},
                },
            }
            await docker._query_json("services/create", method="POST", data=json.dumps(spec))
            return
        container = await docker.containers.create(
            {"Image": IMAGE, "Cmd": ["sleep", "600"], "Labels": labels}, name=name
        )
        try:
            await container.start()
        except aiodocker.DockerError:
            pass  # already removed by the server: a start that comes too late fails


async def test_a_container_the_engine_makes_late_is_removed(own_server):
    # The engine carries out a create or start that a killed server asked for even when it
    # finishes after the restarted server has reconciled: a container that no live sandbox
    # owns then appears. The server removes it as soon as the engine reports it.
    sandbox_id = f"sb-{secrets.token_hex(8)}"  # that of no sandbox
    labels = {"io.sbtui.server": own_server.server_id, LABEL_SANDBOX: sandbox_id}
    await _make_late(own_server, labels, f"sbtui-{sandbox_id}")

    async def gone():
        return not await _labelled(own_server)

    await _until(gone, 15, "the server to remove the container no sandbox owns")


async def test_the_same_client_carries_on_after_an_outage(own_server):
    client = await sbtui.Client.connect(own_server.address)
    try:
        app, image = await _app_and_image(client)
        own_server.kill()
        # Some seconds of outage, calls failing all along (their length is the condition):
        # meanwhile gRPC's reconnect backoff grows.
        back_after = time.time() + 5
        while time.time() < back_after:
            with pytest.raises(ConnectionLostError):
                await asyncio.wait_for(client.apps.list(), 15)
        own_server.start()
        # The first call once the server is back is one that is never retried: it goes through.
        sb = await client.sandboxes.create(app, image, timeout=120)
        p = await sb.exec(["echo", "back"])
        assert await p.stdout.read() == b"back\n"
        assert await sb.terminate(wait=True) == 137
    finally:
        await client.close()


# ---- engine faults ---------------------------------------------------------------------------


def _needs(engine: str) -> None:
    if engine not in available_engines():
        pytest.skip(f"{engine} is not among the engines tested here (SBTUI_TEST_ENGINES)")


def _cli_info(server: ServerProcess) -> str:
    """What `sbtui info` prints about `server`."""
    result = subprocess.run(
        [sys.executable, "-m", "sbtui", "--server", server.address, "info"],
        capture_output=True,
        timeout=60,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k not in ("SBTUI_SERVER", "SBTUI_TOKEN")},
    )
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_bytes()
    return int(stat[stat.rindex(b")") + 2 :].split()[1])


@pytest.fixture
def podman_server():
    _needs("podman")
    proc = ServerProcess("podman", new_state_dir("podman-engine-faults")).start()
    yield proc
    proc.dispose()


async def test_a_killed_podman_service_is_restarted_and_the_exec_across_it_told_so(podman_server):
    server = podman_server
    async with sbtui.Client.connect(server.address) as client:
        app, image = await _app_and_image(client)
        sb = await client.sandboxes.create(app, image, timeout=300)
        across = await sb.exec(["sh", "-c", "echo started; exec sleep 600"])
        assert await asyncio.wait_for(across.stdout.readline(), 15) == b"started\n"
        # The service the server started, as the process tree shows it: its child.
        pid = int((server.state_dir / "podman.pid").read_text())
        assert _parent(pid) == server.process.pid

        killed, killed_at = time.monotonic(), time.time()
        os.kill(pid, signal.SIGKILL)
        # The exec's stream went through the dead service: the client learns that, and no
        # exit code (the process ran on in the sandbox: it had none).
        with pytest.raises(EngineUnavailableError, match="exit code is unknown"):
            await asyncio.wait_for(across.wait(), 15)

        async def restarted():
            status = await client.engine_status()
            return status if status.state == EngineState.OK and status.restarts == 1 else None

        after = await until(restarted, 30, "the server to restart the Podman service")
        ok_after = time.monotonic() - killed
        assert after.attempt == 0 and after.since > killed_at  # ok since the restart
        assert after.service_pid not in (0, pid) and _parent(after.service_pid) == server.process.pid
        assert after.last_error == "it was killed by SIGKILL"
        info = _cli_info(server)
        assert "state       ok, restarted 1 time" in info, info
        assert "last error  it was killed by SIGKILL" in info, info

        # Creates and execs work again, on the new service.
        fresh = await client.sandboxes.create(app, image, timeout=300)
        p = await fresh.exec(["echo", "back"])
        assert await p.stdout.read() == b"back\n" and await p.wait() == 0
        working_after = time.monotonic() - killed
        # The process the broken exec had started was ended, not left running unseen.
        ps = await sb.exec(["ps", "-o", "stat,args"])
        rows = [line.split(None, 1) for line in (await ps.stdout.read()).decode().splitlines()[1:]]
        assert [args for stat, args in rows if not stat.startswith("Z")] == [
            "sleep infinity",
            "ps -o stat,args",
        ], rows
        print(
            f"\nPodman service killed: ok again after {ok_after:.2f} s, "
            f"a create and an exec done {working_after:.2f} s after the kill"
        )
        for s in (sb, fresh):
            assert await s.terminate(wait=True) == 137


@pytest.fixture
def own_dockerd():
    _needs("docker")
    dockerd = OwnDockerd().start()
    yield dockerd
    dockerd.dispose()


@pytest.fixture
def own_dockerd_server(own_dockerd):
    """A server on the test's own dockerd; what it made there goes with that dockerd."""
    server = ServerProcess("docker", new_state_dir("docker-own"), extra=["--engine-url", own_dockerd.url])
    yield server.start()
    server.stop()
    shutil.rmtree(server.state_dir, ignore_errors=True)


async def test_a_hung_docker_is_said_down_and_refuses_creates_at_once(own_dockerd, own_dockerd_server):
    """A deadlocked dockerd takes calls and answers none, though nothing fails: frozen here
    (SIGSTOP), it is said down within HUNG_AFTER and a few seconds more, naming why; a create
    is refused at once saying so instead of waiting on it for ever; thawed, it is ok again and
    its sandbox still answers."""
    server = own_dockerd_server
    async with sbtui.Client.connect(server.address) as client:
        app, image = await _app_and_image(client)
        sb = await client.sandboxes.create(app, image, timeout=600)
        own_dockerd.freeze()
        try:
            frozen = time.monotonic()

            async def down():
                status = await client.engine_status()
                return status if status.state == EngineState.DOWN else None

            status = await until(down, HUNG_AFTER + CHECK_EVERY + 10, "the engine state to say down")
            said_after = time.monotonic() - frozen
            assert "it is hung" in status.last_error, status
            refused = time.monotonic()
            # Refused, not waited on: a create that waited would end in wait_for's timeout.
            with pytest.raises(EngineUnavailableError, match="docker does not answer .*it is hung"):
                await asyncio.wait_for(client.sandboxes.create(app, image, timeout=60), 30)
            refused_in = time.monotonic() - refused
        finally:
            own_dockerd.thaw()

        async def ok():
            return (await client.engine_status()).state == EngineState.OK

        await until(ok, CHECK_EVERY + 10, "the engine state to say ok")
        p = await sb.exec(["echo", "back"])
        assert await p.stdout.read() == b"back\n"
        assert await sb.terminate(wait=True) == 137
        print(f"\nsaid hung {said_after:.1f} s after the freeze; a create refused in {refused_in:.2f} s")


SEQ_END = 53000  # `seq 1 53000` prints 306,894 bytes: more than the 256 KiB kept
KEPT = 256 * 1024


async def _output(sb) -> bytes:
    return b"".join([chunk.data async for chunk in sb.logs()])


async def test_a_docker_restart_ends_sandboxes_as_engine_stopped_keeping_their_output(
    own_dockerd, own_dockerd_server
):
    from sbtui.tui.app import SbtuiApp
    from sbtui.tui.widgets.connection_banner import ConnectionBanner

    server = own_dockerd_server
    async with sbtui.Client.connect(server.address) as client:
        app, image = await _app_and_image(client)
        printed = "".join(f"{i}\n" for i in range(1, SEQ_END + 1)).encode()
        big = await client.sandboxes.create(
            app, image, timeout=600, command=["sh", "-c", f"seq 1 {SEQ_END}; exec sleep 1000"]
        )
        small = await client.sandboxes.create(
            app, image, timeout=600, command=["sh", "-c", "echo small; exec sleep 1000"]
        )

        async def all_printed():
            return await _output(big) == printed and await _output(small) == b"small\n"

        await until(
            all_printed, 30, "the sandboxes' output in the engine's log", pause=lambda: asyncio.sleep(0.2)
        )
        volume = await client.volumes.from_name(f"kept-{secrets.token_hex(4)}", create_if_missing=True)
        assert volume.node  # the engine's host

        stopped = time.monotonic()
        own_dockerd.stop()  # SIGTERM by its pid: it stops its containers, then itself
        stop_took = time.monotonic() - stopped

        async def down():
            return (await client.engine_status()).state == EngineState.DOWN

        await until(down, 30, "the engine state to say down")
        assert "state       down" in _cli_info(server)
        # The volumes are still listed, with their node (the host, as the engine named it).
        listed = [v for v in await client.volumes.list() if v.volume_id == volume.volume_id]
        assert listed == [volume]
        ui = SbtuiApp(client=client, keymap_path=Path("/nonexistent/sbtui/keys.toml"))
        async with ui.run_test(size=(160, 40)) as pilot:
            banner = lambda: str(ui.screen.query_one(ConnectionBanner).render())  # noqa: E731
            await until(
                lambda: "container engine docker down" in banner(),
                20,
                "the dashboard to show the engine down",
                pause=lambda: pilot.pause(0.05),
            )

        started = time.monotonic()
        own_dockerd.start()
        back = time.monotonic()

        async def ended():
            infos = [await sb.refresh() for sb in (big, small)]
            return infos if all(i.state == SandboxState.FINISHED for i in infos) else None

        infos = await until(ended, 60, "both sandboxes to end")
        for info in infos:
            assert info.termination_reason == TerminationReason.ENGINE_STOPPED, info
            assert info.exit_code == 137

        async def retired():
            return not await _labelled(server)

        # Their containers go once their output is kept, and not before.
        await until(retired, 30, "the stopped sandboxes' containers to be removed")
        retired_after = time.monotonic() - back

        async def ok():
            return (await client.engine_status()).state == EngineState.OK

        await until(ok, 30, "the engine state to say ok")
        ok_after = time.monotonic() - back
        assert await _output(big) == printed[-KEPT:]
        assert await _output(small) == b"small\n"
        assert "no live sandbox owns" not in server.log_text()
        creating = time.monotonic()
        fresh = await client.sandboxes.create(app, image, timeout=120)
        p = await fresh.exec(["echo", "back"])
        assert await p.stdout.read() == b"back\n"
        create_and_exec = time.monotonic() - creating
        assert await fresh.terminate(wait=True) == 137
        await client.volumes.delete(volume.name)
        print(
            f"\ndockerd stop took {stop_took:.1f} s, its start {back - started:.1f} s; after it "
            f"answered: sandboxes ended and retired in {retired_after:.2f} s, engine ok in "
            f"{ok_after:.2f} s; then a create and an exec took {create_and_exec:.2f} s"
        )
