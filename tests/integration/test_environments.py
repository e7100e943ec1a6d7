"""Environments isolate sandboxes: a token scoped to one environment cannot see or touch another's.

One TLS server per engine with an admin token; the admin makes two environments, each with an
app and a running sandbox, and a token scoped to the first. Everything of the second is then
out of the scoped token's sight (NOT_FOUND exactly like what does not exist) and reach
(PERMISSION_DENIED naming both environments), on every kind of call.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets as random
import subprocess
import sys

import pytest

import sbtui
from sbtui.client import AuthenticationError, EventKind, Image, NotFoundError, PermissionDeniedError, Sandbox
from tests.integration.test_auth import serve_tls
from tests.integration.test_cli import CLEAN_ENV, json_lines
from tests.servers import IMAGE, ROOT, ServerProcess

ADMIN = "admin-" + random.token_hex(24)


@dataclasses.dataclass
class World:
    server: ServerProcess
    ours: str  # the scoped token's environment
    theirs: str  # another environment
    token: str  # scoped to `ours`
    token_id: str
    our_app: sbtui.App
    their_app: sbtui.App
    our_sandbox: Sandbox  # admin handles
    their_sandbox: Sandbox
    values: list[str]  # every token value handed out, to look for where it must not be

    def connect(self, token: str | None):
        return sbtui.Client.connect(self.server.address, token, ca_cert=self.server.ca)


@pytest.fixture(scope="module")
def tls_server(engine):
    yield from serve_tls(engine, "env", ADMIN)


@pytest.fixture(scope="module")
async def world(tls_server):
    ours, theirs = f"ours-{random.token_hex(3)}", f"theirs-{random.token_hex(3)}"
    async with sbtui.Client.connect(tls_server.address, ADMIN, ca_cert=tls_server.ca) as admin:
        made = await admin.tokens.create(ours, description="isolation tests")
        image = admin.images.from_registry(IMAGE)
        our_app = await admin.apps.from_name("ws", create_if_missing=True, environment=ours)
        their_app = await admin.apps.from_name("ws", create_if_missing=True, environment=theirs)
        our_sandbox = await admin.sandboxes.create(our_app, image, name="box", timeout=600)
        their_sandbox = await admin.sandboxes.create(
            their_app,
            image,
            name="box",
            timeout=600,
            unencrypted_ports=[8080],
            command=["sh", "-c", "echo their output; sleep 600"],
        )
        await their_sandbox.set_tags({"owner": "theirs"})
        yield World(
            tls_server,
            ours,
            theirs,
            made.value,
            made.token_id,
            our_app,
            their_app,
            our_sandbox,
            their_sandbox,
            [made.value],
        )
        for sb in (our_sandbox, their_sandbox):
            await sb.terminate()


@pytest.fixture
async def admin(world):
    async with world.connect(ADMIN) as client:
        yield client


@pytest.fixture
async def scoped(world):
    async with world.connect(world.token) as client:
        yield client


def fake_id(prefix: str) -> str:
    return f"{prefix}-" + random.token_hex(8)


async def same_as_missing(call, real: str, missing: str) -> str:
    """`call(real)` and `call(missing)` fail with NOT_FOUND and the same words; returns them."""
    said = []
    for ref in (real, missing):
        with pytest.raises(NotFoundError) as refused:
            await call(ref)
        said.append(str(refused.value).replace(ref, "<id>"))
    assert said[0] == said[1], said
    assert "<id>" in said[0]
    return said[0]


def handle(client, info, sandbox_id: str) -> Sandbox:
    """A handle on `client` for `sandbox_id`, as a caller who guessed or was told the id has."""
    return Sandbox(client._connection, dataclasses.replace(info, sandbox_id=sandbox_id))


# ---- seeing ---------------------------------------------------------------------------------


async def test_lists_show_only_the_tokens_environment(world, scoped, admin):
    apps = await scoped.apps.list()
    assert [(a.name, a.environment) for a in apps] == [("ws", world.ours)]
    listed = [s.sandbox_id async for s in scoped.sandboxes.list(include_finished=True)]
    assert world.our_sandbox.sandbox_id in listed
    assert world.their_sandbox.sandbox_id not in listed
    # Naming its own environment is the same as naming none.
    assert await scoped.apps.list(environment=world.ours) == apps
    info = await scoped.server_info()
    assert (info.environment, info.pid, info.state_dir) == (world.ours, 0, "")

    # The admin token sees every environment.
    assert [a.app_id for a in await admin.apps.list(environment=world.theirs)] == [world.their_app.app_id]
    theirs = [s.sandbox_id async for s in admin.sandboxes.list(environment=world.theirs)]
    assert theirs == [world.their_sandbox.sandbox_id]
    info = await admin.server_info()
    assert info.environment == "" and info.pid > 0 and info.state_dir


async def test_a_scoped_token_is_told_what_the_server_cant_honour(scoped, admin):
    told = await scoped.capabilities()
    assert told == await admin.capabilities() and told.unsupported("proxy_id")  # refused on every engine


async def test_watch_shows_only_the_tokens_environment(world, scoped, admin):
    image = admin.images.from_registry(IMAGE)
    ours, theirs = world.our_sandbox.sandbox_id, world.their_sandbox.sandbox_id
    seen: list[tuple[EventKind, str]] = []
    made: list[Sandbox] = []
    try:
        async with asyncio.timeout(90):
            async for event in scoped.sandboxes.watch():
                seen.append((event.kind, event.sandbox.sandbox_id if event.sandbox else ""))
                if event.kind == EventKind.SYNCED:
                    assert (EventKind.EXISTING, ours) in seen
                    # Events of theirs happen first, so they would show before the last one of ours.
                    made.append(await admin.sandboxes.create(world.their_app, image, timeout=120))
                    await world.their_sandbox.set_tags({"owner": "theirs", "seen": "no"})
                    made.append(await admin.sandboxes.create(world.our_app, image, timeout=120))
                if made[-1:] and event.sandbox and event.sandbox.sandbox_id == made[-1].sandbox_id:
                    break
    finally:
        for sb in made:
            await sb.terminate()
    assert (EventKind.CREATED, made[1].sandbox_id) in seen
    leaked = {sid for _, sid in seen} & {theirs, made[0].sandbox_id}
    assert not leaked, seen


# ---- touching by id --------------------------------------------------------------------------


async def test_calls_on_another_environments_sandbox_are_not_found(world, scoped, admin):
    info = world.their_sandbox.info
    real, missing = info.sandbox_id, fake_id("sb")

    async def logs(sid):
        return [c async for c in handle(scoped, info, sid).logs()]

    calls = {
        "from_id": scoped.sandboxes.from_id,
        "exec": lambda sid: handle(scoped, info, sid).exec(["sh", "-c", "echo reached"]),
        "terminate": lambda sid: handle(scoped, info, sid).terminate(wait=True),
        "wait": lambda sid: handle(scoped, info, sid).wait(),
        "poll": lambda sid: handle(scoped, info, sid).poll(),
        "set_tags": lambda sid: handle(scoped, info, sid).set_tags({"owner": "ours"}),
        "get_tags": lambda sid: handle(scoped, info, sid).get_tags(),
        "logs": logs,
        "tunnels": lambda sid: handle(scoped, info, sid).tunnels(timeout=1),
        "snapshot": lambda sid: handle(scoped, info, sid).snapshot_filesystem(timeout=30),
    }
    for name, call in calls.items():
        said = await same_as_missing(call, real, missing)
        assert said == "sandbox '<id>' does not exist", (name, said)

    # Untouched: still running, tags as they were, found by the admin.
    after = await (await admin.sandboxes.from_id(real)).refresh()
    assert str(after.state) == "running" and after.tags.get("owner") == "theirs"


async def test_another_environments_app_is_not_found(world, scoped, admin):
    image = scoped.images.from_registry(IMAGE)
    app = world.their_app

    async def create(app_id):
        return await scoped.sandboxes.create(dataclasses.replace(app, app_id=app_id), image)

    async def listing(app_id):
        return [s async for s in scoped.sandboxes.list(app_id=app_id)]

    async def watching(app_id):
        async for _ in scoped.sandboxes.watch(app_id=app_id):
            break

    async def theirs():
        found = admin.sandboxes.list(app_id=app.app_id, environment=world.theirs, include_finished=True)
        return {s.sandbox_id async for s in found}

    before = await theirs()
    for call in (create, listing, watching):
        assert await same_as_missing(call, app.app_id, fake_id("ap")) == "app '<id>' does not exist"
    assert await theirs() == before


# ---- naming another environment ------------------------------------------------------------


async def test_naming_another_environment_is_permission_denied(world, scoped, admin):
    theirs = world.theirs
    before = (
        await admin.apps.list(environment=theirs),
        await admin.secrets.list(environment=theirs),
        await admin.volumes.list(environment=theirs),
    )

    async def listing():
        return [s async for s in scoped.sandboxes.list(environment=theirs)]

    async def watching():
        async for _ in scoped.sandboxes.watch(environment=theirs):
            break

    calls = [
        scoped.apps.from_name("new", create_if_missing=True, environment=theirs),
        scoped.apps.list(environment=theirs),
        listing(),
        watching(),
        scoped.sandboxes.from_name("ws", "box", environment=theirs),
        scoped.secrets.create("s", {"K": "v"}, environment=theirs),
        scoped.secrets.from_name("s", environment=theirs),
        scoped.secrets.list(environment=theirs),
        scoped.secrets.delete("s", environment=theirs),
        scoped.volumes.from_name("v", create_if_missing=True, environment=theirs),
        scoped.volumes.list(environment=theirs),
        scoped.volumes.delete("v", environment=theirs),
    ]
    for call in calls:
        with pytest.raises(PermissionDeniedError) as denied:
            await call
        message = str(denied.value)
        assert repr(world.ours) in message and repr(theirs) in message, message
        assert denied.value.field == "environment"
    after = (
        await admin.apps.list(environment=theirs),
        await admin.secrets.list(environment=theirs),
        await admin.volumes.list(environment=theirs),
    )
    assert after == before

    # No environment named is the token's own, not "main".
    app = await scoped.apps.from_name(f"new-{random.token_hex(3)}", create_if_missing=True)
    assert app.environment == world.ours
    found = await scoped.sandboxes.from_name("ws", "box")
    assert found.sandbox_id == world.our_sandbox.sandbox_id


async def test_another_environments_secrets_and_volumes_are_out_of_reach(world, scoped, admin):
    value = "v4lue-" + random.token_hex(12)
    secret = await admin.secrets.create(
        f"db-{random.token_hex(3)}", {"PASSWORD": value}, environment=world.theirs
    )
    volume = await admin.volumes.from_name(
        f"data-{random.token_hex(3)}", create_if_missing=True, environment=world.theirs
    )
    image = scoped.images.from_registry(IMAGE)
    before = [s async for s in scoped.sandboxes.list(include_finished=True)]
    for kw in (
        {"secrets": [secret.name]},
        {"secrets": [secret.secret_id]},
        {"volumes": {"/data": volume.name}},
        {"volumes": {"/data": volume.volume_id}},
    ):
        with pytest.raises(NotFoundError, match="does not exist in environment"):
            await scoped.sandboxes.create(world.our_app, image, **kw)
    mine = await scoped.sandboxes.from_id(world.our_sandbox.sandbox_id)
    for ref in (secret.name, secret.secret_id):
        with pytest.raises(NotFoundError, match="does not exist in environment"):
            await mine.exec(["sh", "-c", "echo $PASSWORD"], secrets=[ref])
    after = [s async for s in scoped.sandboxes.list(include_finished=True)]
    assert len(after) == len(before)
    assert value not in world.server.log_text()


async def test_snapshots_stay_in_their_environment(world, scoped, admin):
    theirs = await world.their_sandbox.snapshot_filesystem(timeout=120)
    missing_id, missing_tag = fake_id("im"), f"localhost/sbtui/snapshot:{fake_id('im').lower()}"
    listed = {i.image_id for i in await scoped.images.list()}
    assert theirs.image_id not in listed
    assert await same_as_missing(scoped.images.from_id, theirs.image_id, missing_id) == (
        "image '<id>' does not exist on this server"
    )

    async def create_from_id(image_id):
        return await scoped.sandboxes.create(world.our_app, Image(image_id=image_id))

    async def create_from_tag(tag):
        return await scoped.sandboxes.create(world.our_app, scoped.images.from_registry(tag))

    async def resolve(tag):
        return await scoped.images.from_registry(tag).resolve()

    async def pull(tag):
        return [p async for p in scoped.images.pull(tag)]

    await same_as_missing(create_from_id, theirs.image_id, missing_id)
    for call in (create_from_tag, resolve, pull):
        said = await same_as_missing(call, theirs.tag, missing_tag)
        assert said == "image '<id>' does not exist on this server"

    # Registry images are shared; a snapshot of its own environment is the token's to use.
    ours = await (await scoped.sandboxes.from_id(world.our_sandbox.sandbox_id)).snapshot_filesystem(
        timeout=120
    )
    assert ours.image_id in {i.image_id for i in await scoped.images.list(snapshots_only=True)}
    sb = await scoped.sandboxes.create(world.our_app, await scoped.images.from_id(ours.image_id), timeout=60)
    await sb.terminate()
    everything = {i.image_id for i in await admin.images.list(snapshots_only=True)}
    assert {ours.image_id, theirs.image_id} <= everything


# ---- tokens ----------------------------------------------------------------------------------


async def test_only_the_admin_manages_tokens(world, scoped, admin):
    for call in (
        scoped.tokens.create(world.ours),
        scoped.tokens.list(),
        scoped.tokens.revoke(world.token_id),
    ):
        with pytest.raises(PermissionDeniedError, match="admin token"):
            await call
    listed = await admin.tokens.list(environment=world.ours)
    assert (world.token_id, world.ours, "isolation tests") in [
        (t.token_id, t.environment, t.description) for t in listed
    ]
    assert {t.environment for t in listed} == {world.ours}
    assert world.token not in repr(await admin.tokens.list())
    made = await admin.tokens.create(world.theirs)
    world.values.append(made.value)
    assert made.value not in repr(made)
    await admin.tokens.revoke(made.token_id)


async def test_a_revoked_token_is_refused_at_once(world, admin):
    made = await admin.tokens.create(world.ours, description="to revoke")
    world.values.append(made.value)
    async with world.connect(made.value) as doomed:
        assert "ws" in [a.name for a in await doomed.apps.list()]
        watch = doomed.sandboxes.watch()
        async with asyncio.timeout(30):
            while (await anext(watch)).kind != EventKind.SYNCED:
                pass
        await admin.tokens.revoke(made.token_id)
        with pytest.raises(AuthenticationError, match="not valid"):  # unary
            await doomed.apps.list()
        with pytest.raises(AuthenticationError):  # server streaming
            [s async for s in doomed.sandboxes.list()]
        mine = handle(doomed, world.our_sandbox.info, world.our_sandbox.sandbox_id)
        with pytest.raises(AuthenticationError):  # bidirectional exec stream
            await mine.exec(["true"])
        # The watch opened before the revocation has ended, with no event to wait for (every
        # kind of stream, timed, is in test_revocation.py).
        with pytest.raises(AuthenticationError, match="revoked"):
            async with asyncio.timeout(30):
                async for _ in watch:
                    pass
    with pytest.raises(NotFoundError, match="does not exist"):
        await admin.tokens.revoke(made.token_id)
    assert made.token_id not in {t.token_id for t in await admin.tokens.list()}


def _cli(world, *args: str, token: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "sbtui", "--server", world.server.address, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        cwd=ROOT,
        text=True,
        env=dict(CLEAN_ENV, SBTUI_TOKEN=token, SBTUI_CA=str(world.server.ca)),
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_token_verbs_of_the_cli(world):
    made = _cli(
        world, "token", "create", "--environment", world.ours, "--description", "cli run", token=ADMIN
    )
    assert made.returncode == 0, made.stderr
    value = made.stdout.strip()
    world.values.append(value)
    token_id = made.stderr.split()[2]
    assert token_id.startswith("tk-") and value not in made.stderr and "only now" in made.stderr
    as_json = json.loads(_cli(world, "token", "create", "--env", world.ours, "--json", token=ADMIN).stdout)
    world.values.append(as_json["value"])
    assert as_json["environment"] == world.ours and as_json["token_id"].startswith("tk-")

    table = _cli(world, "token", "list", token=ADMIN)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ID", "ENVIRONMENT", "DESCRIPTION", "AGE"]
    assert any(line.split()[:4] == [token_id, world.ours, "cli", "run"] for line in lines[1:])
    listed = _cli(world, "token", "list", "--environment", world.ours, "--json", token=ADMIN)
    rows = json_lines(listed.stdout)
    assert {r["token_id"] for r in rows} >= {token_id, as_json["token_id"], world.token_id}
    assert {r["environment"] for r in rows} == {world.ours}
    for text in (table.stdout, listed.stdout):
        assert value not in text and as_json["value"] not in text and "value" not in text

    # The new token works for its environment, and only there; token verbs need the admin.
    apps = [line.split() for line in _cli(world, "app", "list", token=value).stdout.splitlines()[1:]]
    assert ["ws", world.our_app.app_id, world.ours] in apps
    assert {app[2] for app in apps} == {world.ours}
    denied = _cli(world, "app", "list", "--env", world.theirs, token=value)
    assert (
        denied.returncode == 5 and repr(world.theirs) in denied.stderr and repr(world.ours) in denied.stderr
    )
    refused = _cli(world, "token", "list", token=value)
    assert refused.returncode == 5 and "admin token" in refused.stderr

    assert _cli(world, "token", "revoke", token_id, token=ADMIN).returncode == 0
    gone = _cli(world, "app", "list", token=value)
    assert gone.returncode == 5 and "not valid" in gone.stderr
    again = _cli(world, "token", "revoke", token_id, token=ADMIN)
    assert again.returncode == 3 and token_id in again.stderr
    assert _cli(world, "token", "revoke", as_json["token_id"], token=ADMIN).returncode == 0

    bad = _cli(world, "token", "create", "--environment", "no such env", token=ADMIN)
    assert bad.returncode == 1 and "environment: is not a valid name" in bad.stderr
    usage = _cli(world, "token", "create", token=ADMIN)
    assert usage.returncode == 2 and "--environment" in usage.stderr


def test_token_values_are_in_neither_the_log_nor_the_state_file(world):
    state = b"".join(p.read_bytes() for p in world.server.state_dir.glob("state.db*"))
    log = world.server.log_text()
    assert len(world.values) >= 1
    for value in world.values + [ADMIN]:
        assert value not in log
        assert value.encode() not in state
    assert world.token_id in log  # what is logged is the id
