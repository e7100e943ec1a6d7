"""Every call of the sandbox API against a real server on a real engine."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import timedelta

import pytest
from google.protobuf.message import Message

import sbtui
from sbtui.client import AlreadyExistsError, EventKind, NotFoundError, SandboxState, TerminationReason
from tests.servers import IMAGE


async def test_apps_from_name_creates_once_and_lists(client):
    with pytest.raises(NotFoundError, match="create_if_missing"):
        await client.apps.from_name("never-made")
    made = await client.apps.from_name("apps-x", create_if_missing=True)
    again = await client.apps.from_name("apps-x")
    assert made == again and made.app_id.startswith("ap-") and made.environment == "main"
    other_env = await client.apps.from_name("apps-x", create_if_missing=True, environment="dev")
    assert other_env.app_id != made.app_id
    assert "apps-x" in [a.name for a in await client.apps.list()]
    assert [a.app_id for a in await client.apps.list(environment="dev")] == [other_env.app_id]


async def test_images_from_registry_and_from_id(client):
    image = client.images.from_registry(IMAGE)
    assert image.image_id is None  # lazy, like the seed
    await image.resolve()
    assert image.image_id.startswith("im-") and image.size_bytes > 0
    same = await client.images.from_id(image.image_id)
    assert same.image_id == image.image_id and same.tag == IMAGE


async def test_create_sets_every_basic_parameter(client, app, image):
    sb = await client.sandboxes.create(
        app,
        image,
        cpu=0.5,
        cpu_limit=1.0,
        memory_mib=32,
        memory_limit_mib=64,
        timeout=timedelta(minutes=2),
        workdir="/tmp",
        env={"GREETING": "hi"},
        command=["sh", "-c", "echo $GREETING from $(pwd) > /tmp/out; sleep 300"],
        name="basic",
    )
    try:
        assert sb.info.state == SandboxState.RUNNING
        assert sb.info.params.cpu == 0.5 and sb.info.params.memory_limit_mib == 64
        assert 119 <= sb.info.deadline - sb.info.created_at <= 121
        p = await sb.exec(["sh", "-c", "while [ ! -s /tmp/out ]; do sleep 0.05; done; cat /tmp/out"])
        assert await p.stdout.read() == b"hi from /tmp\n"
        assert await p.wait() == 0
        found = await client.sandboxes.from_name(app.name, "basic")
        assert found.sandbox_id == sb.sandbox_id
        assert (await client.sandboxes.from_id(sb.sandbox_id)).info.name == "basic"
    finally:
        await sb.terminate()


def _messages_in(value, path: str = "value") -> list[str]:
    """Where in `value` (dataclasses, mappings, sequences, at any depth) a protobuf message is."""
    if isinstance(value, Message):
        return [f"{path}: {type(value).__name__}"]
    if dataclasses.is_dataclass(value):
        return [
            m
            for f in dataclasses.fields(value)
            for m in _messages_in(getattr(value, f.name), f"{path}.{f.name}")
        ]
    if isinstance(value, dict):
        return [m for k, v in value.items() for m in _messages_in(v, f"{path}[{k!r}]")]
    if isinstance(value, (list, tuple)):
        return [m for i, v in enumerate(value) for m in _messages_in(v, f"{path}[{i}]")]
    return []


async def test_the_client_hands_out_its_own_types(client, app, image):
    """What a caller gets (a sandbox's description and create parameters, as created, looked
    up, listed and watched; the server's info) holds no wire message at any depth."""
    sb = await client.sandboxes.create(
        app, image, cpu=0.25, memory_mib=32, timeout=120, env={"A": "1"}, command=["sleep", "300"]
    )
    try:
        listed = [s.info async for s in client.sandboxes.list(app_id=app.app_id)]
        watched = client.sandboxes.watch(app_id=app.app_id)
        first = await anext(watched)
        await watched.aclose()
        found = {
            "created": sb.info,
            "from_id": (await client.sandboxes.from_id(sb.sandbox_id)).info,
            "listed": listed,
            "watched": first,
            "server_info": await client.server_info(),
        }
        assert _messages_in(found, "found") == []
        assert sb.info.params.cpu == 0.25 and sb.info.params.cpu_limit is None  # unset is None
    finally:
        await sb.terminate()


async def test_default_timeout_is_five_minutes(sandbox):
    assert sandbox.info.deadline - sandbox.info.created_at == pytest.approx(120, abs=1)


async def test_default_timeout_applies_when_unset(client, app, image):
    sb = await client.sandboxes.create(app, image)
    try:
        assert sb.info.deadline - sb.info.created_at == pytest.approx(300, abs=1)
    finally:
        await sb.terminate()


async def test_exec_pipes_stdin_stdout_stderr_and_exit_code(sandbox):
    p = await sandbox.exec(["sh", "-c", "read a; echo out:$a; echo err:$a >&2; cat; exit 3"])
    p.stdin.write(b"first\n")
    await p.stdin.drain()
    assert await p.stdout.readline() == b"out:first\n"
    p.stdin.write(b"rest of it")
    p.stdin.close()
    assert await p.stdout.read() == b"rest of it"
    assert await p.stderr.read() == b"err:first\n"
    assert await p.wait() == 3


async def test_exec_workdir_env_and_text_mode(sandbox):
    p = await sandbox.exec(
        ["sh", "-c", "pwd; echo $A$B"], workdir="/etc", env={"A": "x", "B": "ü"}, text=True
    )
    lines = [line async for line in p.stdout]
    assert lines == ["/etc\n", "xü\n"]
    assert await p.wait() == 0


async def test_the_command_and_execs_get_the_environment_they_were_given(client, app, image):
    """Nothing of how they were started shows in their environment (on swarm they start through
    a shell of the node's: runtime/launcher.py)."""
    sb = await client.sandboxes.create(app, image, command=["env"], env={"GIVEN": "1"})
    assert await sb.wait() == 0
    main = b"".join([chunk.data async for chunk in sb.logs()]).decode()
    sb = await client.sandboxes.create(app, image)
    try:
        p = await sb.exec(["env"], env={"GIVEN": "1"})
        execed = (await p.stdout.read()).decode()
        assert await p.wait() == 0
    finally:
        await sb.terminate()
    for env in (main, execed):
        names = {line.split("=", 1)[0] for line in env.splitlines()}
        assert "GIVEN" in names and "PATH" in names, env
        assert not names & {"SHLVL", "PWD", "OLDPWD"}, env


async def test_exec_ignore_discards_output(sandbox):
    p = await sandbox.exec(["sh", "-c", "echo visible; echo hidden >&2"], stderr="ignore")
    assert await p.stdout.read() == b"visible\n"
    assert await p.stderr.read() == b""
    assert await p.wait() == 0


async def test_exec_timeout_kills_the_command(sandbox):
    p = await sandbox.exec(["sh", "-c", "echo started; sleep 60"], timeout=1)
    assert await p.stdout.readline() == b"started\n"
    with pytest.raises(sbtui.client.ExecTimeoutError, match="timed out"):
        await asyncio.wait_for(p.wait(), 15)


async def test_exec_pty_has_the_size_and_resizes(sandbox):
    p = await sandbox.exec(["sh"], pty=True, pty_size=(30, 100))
    p.stdin.write(b"stty size\n")
    await _read_until(p.stdout, b"30 100")
    await p.resize(40, 120)
    p.stdin.write(b"stty size; exit 9\n")
    await _read_until(p.stdout, b"40 120")
    assert await asyncio.wait_for(p.wait(), 15) == 9


async def _read_until(stream, needle: bytes, timeout: float = 15) -> bytes:
    seen = b""

    async def collect():
        nonlocal seen
        while needle not in seen:
            chunk = await stream.read(4096)
            if not chunk:
                raise AssertionError(f"stream ended before {needle!r}; got {seen!r}")
            seen += chunk

    await asyncio.wait_for(collect(), timeout)
    return seen


async def test_sandbox_with_pty_main_command(client, app, image):
    sb = await client.sandboxes.create(app, image, pty=True, command=["sh", "-c", "test -t 0 && exit 42"])
    assert await asyncio.wait_for(sb.wait(), 30) == 42


async def test_wait_poll_and_exit_code_of_main_command(client, app, image):
    sb = await client.sandboxes.create(app, image, command=["sh", "-c", "sleep 0.5; exit 7"])
    assert await sb.poll() is None
    assert await asyncio.wait_for(sb.wait(), 30) == 7
    assert await sb.poll() == 7
    info = await sb.refresh()
    assert info.state == SandboxState.FINISHED
    assert info.termination_reason == TerminationReason.EXITED and info.exit_code == 7


async def test_terminate_wait_returns_exit_code_and_second_terminate_is_harmless(client, app, image):
    sb = await client.sandboxes.create(app, image)
    assert await sb.terminate(wait=True) == 137
    assert (await sb.refresh()).termination_reason == TerminationReason.TERMINATED
    assert await sb.terminate(wait=True) == 137  # a second terminate changes nothing
    assert await sb.terminate() == 137


async def test_names_are_unique_within_an_app_while_running(client, app, image):
    sb = await client.sandboxes.create(app, image, name="only")
    with pytest.raises(AlreadyExistsError, match="'only' already exists") as caught:
        await client.sandboxes.create(app, image, name="only")
    assert caught.value.field == "name"
    other_app = await client.apps.from_name(app.name + "-b", create_if_missing=True)
    twin = await client.sandboxes.create(other_app, image, name="only")
    await twin.terminate(wait=True)
    await sb.terminate(wait=True)
    with pytest.raises(NotFoundError):
        await client.sandboxes.from_name(app.name, "only")
    again = await client.sandboxes.create(app, image, name="only")
    await again.terminate()


async def test_list_filters_by_app_tags_and_environment(client, app, image):
    a = await client.sandboxes.create(app, image)
    b = await client.sandboxes.create(app, image)
    await a.set_tags({"env": "prod", "team": "x"})
    await b.set_tags({"env": "dev"})
    assert await a.get_tags() == {"env": "prod", "team": "x"}
    ids = [s.sandbox_id async for s in client.sandboxes.list(app_id=app.app_id)]
    assert set(ids) == {a.sandbox_id, b.sandbox_id}
    prod = [s.sandbox_id async for s in client.sandboxes.list(app_id=app.app_id, tags={"env": "prod"})]
    assert prod == [a.sandbox_id]
    both = [s async for s in client.sandboxes.list(tags={"env": "prod", "team": "y"})]
    assert both == []
    other = [s async for s in client.sandboxes.list(app_id=app.app_id, environment="dev")]
    assert other == []
    await a.terminate(wait=True)
    left = [s.sandbox_id async for s in client.sandboxes.list(app_id=app.app_id)]
    assert left == [b.sandbox_id]
    await b.terminate()


async def test_watch_follows_created_state_tags_and_exit(client, app, image):
    events: list = []
    synced = asyncio.Event()

    async def follow():
        async for event in client.sandboxes.watch(app_id=app.app_id):
            events.append(event)
            if event.kind == EventKind.SYNCED:
                synced.set()
            if event.kind == EventKind.EXITED:
                return

    watcher = asyncio.create_task(follow())
    await asyncio.wait_for(synced.wait(), 10)
    sb = await client.sandboxes.create(app, image)
    await sb.set_tags({"k": "v"})
    await sb.terminate()
    await asyncio.wait_for(watcher, 30)
    kinds = [e.kind for e in events if e.sandbox is None or e.sandbox.sandbox_id == sb.sandbox_id]
    assert kinds[0] == EventKind.SYNCED
    assert kinds[1:3] == [EventKind.CREATED, EventKind.STATE_CHANGED]
    assert EventKind.TAGS_CHANGED in kinds and kinds[-1] == EventKind.EXITED
    assert events[-1].sandbox.exit_code == 137


async def test_detach_releases_the_handle_not_the_sandbox(client, app, image):
    sb = await client.sandboxes.create(app, image)
    sb.detach()
    with pytest.raises(sbtui.client.FailedPreconditionError, match="detached"):
        await sb.poll()
    again = await client.sandboxes.from_id(sb.sandbox_id)
    assert await again.poll() is None
    await again.terminate()


async def test_block_network_leaves_only_loopback(client, app, image, engine):
    sb = await client.sandboxes.create(app, image, block_network=True)
    p = await sb.exec(["sh", "-c", "ls /sys/class/net; ip route"])
    shown = (await p.stdout.read()).split(b"\n")
    if engine == "swarm":
        # A service can't be without a network: block_network's is an internal one of its own,
        # its subnet the only route (nothing else on it, no gateway out).
        assert shown[:2] == [b"eth0", b"lo"]
        assert [r.split()[1:3] for r in shown[2:] if r] == [[b"dev", b"eth0"]]
    else:
        assert shown[:1] == [b"lo"] and not any(shown[1:])
    await sb.terminate()


def _ended_within_a_second(info, due: float, seen: float) -> None:
    """No earlier than `due` and at most 1 s after it: by the server's record of the finish
    (the engine's own time) and as the client saw it. A due time passed before the sandbox
    started (a create slowed by the suite: one took 4.9 s) counts from its start, when the
    server ends it."""
    due = max(due, info.started_at)
    assert due <= info.finished_at <= due + 1.0, info.finished_at - due
    assert seen <= due + 1.0, seen - due


async def test_timeout_is_enforced_by_the_server(client, app, image):
    sb = await client.sandboxes.create(app, image, timeout=2)
    with pytest.raises(sbtui.client.SandboxTimeoutError, match="timeout"):
        await asyncio.wait_for(sb.wait(), 20)
    seen = time.time()
    info = await sb.refresh()
    assert info.termination_reason == TerminationReason.TIMEOUT
    assert info.deadline == info.created_at + 2
    _ended_within_a_second(info, info.deadline, seen)


async def test_idle_timeout_is_enforced_by_the_server(client, app, image):
    sb = await client.sandboxes.create(app, image, idle_timeout=2)
    with pytest.raises(sbtui.client.SandboxTimeoutError, match="idle timeout"):
        await asyncio.wait_for(sb.wait(), 20)
    seen = time.time()
    info = await sb.refresh()
    assert info.termination_reason == TerminationReason.IDLE_TIMEOUT
    assert info.last_activity == info.created_at
    _ended_within_a_second(info, info.last_activity + 2, seen)


async def test_idle_timeout_counts_exec_as_activity(client, app, image):
    sb = await client.sandboxes.create(app, image, idle_timeout=2)
    # A command running longer than the idle timeout keeps the sandbox alive...
    p = await sb.exec(["sleep", "5"])
    assert await asyncio.wait_for(p.wait(), 20) == 0
    ended = time.time()
    assert await sb.poll() is None
    # ...and idleness counts from its end.
    assert await asyncio.wait_for(sb.wait(raise_on_timeout=False), 20) == 137
    seen = time.time()
    info = await sb.refresh()
    assert info.termination_reason == TerminationReason.IDLE_TIMEOUT
    assert info.last_activity == pytest.approx(ended, abs=0.5)
    _ended_within_a_second(info, info.last_activity + 2, seen)


async def test_cpu_and_memory_reach_the_container_cgroup(client, app, image):
    sb = await client.sandboxes.create(app, image, cpu=0.5, cpu_limit=1.5, memory_mib=48, memory_limit_mib=96)
    # cgroup v1 files, else their v2 equivalents.
    script = (
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max;"
        "cat /sys/fs/cgroup/memory/memory.soft_limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.low;"
        "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us 2>/dev/null"
        " || cat /sys/fs/cgroup/cpu.max"
    )
    p = await sb.exec(["sh", "-c", script])
    values = (await p.stdout.read()).split()
    await sb.terminate()
    assert int(values[0]) == 96 * 1024 * 1024
    assert int(values[1]) == 48 * 1024 * 1024
    assert int(values[2]) / int(values[3]) == pytest.approx(1.5)
