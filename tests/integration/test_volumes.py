"""Volumes against a real server and engine: named, per environment, data kept across sandboxes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets as random
import subprocess

import pytest

from sbtui.client import FailedPreconditionError, InvalidArgumentError, NotFoundError, Volume
from tests.engine_view import engine_clis
from tests.integration.test_cli import json_lines
from tests.integration.test_secrets import cli, ok, output


def unique(prefix: str) -> str:
    return f"{prefix}-{random.token_hex(4)}"


async def _count(client, app) -> int:
    return len([s async for s in client.sandboxes.list(app_id=app.app_id, include_finished=True)])


@pytest.fixture
async def volume(client):
    """A new volume, deleted (with its engine volume) after the test."""
    made = await client.volumes.from_name(unique("vol"), create_if_missing=True)
    yield made
    with contextlib.suppress(NotFoundError, FailedPreconditionError):
        await client.volumes.delete(made.name)


def engine_has_volume(engine: str, volume: Volume) -> bool:
    """Asked of the engine itself, not of sbtui: on swarm, of the engine of each node (a
    volume lives on one of them)."""
    return any(
        subprocess.run(
            [*cli, "volume", "inspect", f"sbtui-{volume.volume_id}"], capture_output=True, timeout=30
        ).returncode
        == 0
        for cli in engine_clis(engine)
    )


async def test_data_written_by_one_sandbox_is_read_by_the_next(client, app, image, engine, volume):
    assert engine_has_volume(engine, volume)
    first = await client.sandboxes.create(app, image, volumes={"/data": volume}, timeout=120)
    try:
        assert dict(first.info.params.volumes) == {"/data": volume.name}
        await output(first, ["sh", "-c", "echo hi > /data/f && mkdir /data/d && echo deep > /data/d/g"])
    finally:
        await first.terminate(wait=True)
    # By name, by id, and the same volume twice at two paths.
    second = await client.sandboxes.create(
        app, image, volumes={"/mnt/v": volume.name, "/again": volume.volume_id}, timeout=120
    )
    try:
        assert await output(second, ["cat", "/mnt/v/f", "/again/d/g"]) == "hi\ndeep\n"
        await output(second, ["sh", "-c", "echo both > /mnt/v/h"])
        assert await output(second, ["cat", "/again/h"]) == "both\n"
    finally:
        await second.terminate(wait=True)


async def test_from_name_and_create_if_missing(client, engine):
    name = unique("lazy")
    with pytest.raises(
        NotFoundError, match=f"volume '{name}' does not exist in environment 'main'.*create_if_missing"
    ):
        await client.volumes.from_name(name)
    assert name not in [v.name for v in await client.volumes.list()]
    made = await client.volumes.from_name(name, create_if_missing=True)
    assert made.volume_id.startswith("vo-") and made.name == name and made.environment == "main"
    assert await client.volumes.from_name(name) == made
    assert await client.volumes.from_name(name, create_if_missing=True) == made
    assert [v for v in await client.volumes.list() if v.name == name] == [made]
    # Environments keep their own volumes.
    dev = await client.volumes.from_name(name, create_if_missing=True, environment="dev")
    assert dev.volume_id != made.volume_id and dev.environment == "dev"
    assert [v.volume_id for v in await client.volumes.list(environment="dev") if v.name == name] == [
        dev.volume_id
    ]
    await client.volumes.delete(name, environment="dev")
    await client.volumes.delete(name)
    assert not engine_has_volume(engine, made) and not engine_has_volume(engine, dev)
    with pytest.raises(NotFoundError, match=f"volume '{name}' does not exist"):
        await client.volumes.from_name(name)
    with pytest.raises(NotFoundError, match=f"volume '{name}' does not exist"):
        await client.volumes.delete(name)


async def test_callers_creating_one_name_at_once_get_one_volume(client, engine):
    name = unique("race")
    made = await asyncio.gather(*(client.volumes.from_name(name, create_if_missing=True) for _ in range(6)))
    try:
        assert len({v.volume_id for v in made}) == 1
        assert [v.name for v in await client.volumes.list()].count(name) == 1
    finally:
        await client.volumes.delete(name)
    assert not engine_has_volume(engine, made[0])


async def test_unknown_volume_is_not_found_and_nothing_is_made(client, app, image, volume):
    with pytest.raises(NotFoundError, match="^volume 'no-such-vol' does not exist in environment 'main'"):
        await client.sandboxes.create(app, image, volumes={"/data": "no-such-vol"})
    with pytest.raises(NotFoundError, match="volume 'ghost' does not exist"):
        await client.sandboxes.create(app, image, volumes={"/a": volume, "/b": Volume("ghost")})
    dev = await client.volumes.from_name(unique("elsewhere"), create_if_missing=True, environment="dev")
    try:
        with pytest.raises(NotFoundError, match="in environment 'main'"):
            await client.sandboxes.create(app, image, volumes={"/a": dev.volume_id})
    finally:
        await client.volumes.delete(dev.name, environment="dev")
    assert await _count(client, app) == 0


@pytest.mark.parametrize(
    "volumes, words",
    [
        ({"data": "v"}, "'data' is not an absolute path"),
        ({"./data": "v"}, "'./data' is not an absolute path"),
        ({"/": "v"}, "can't be mounted over '/'"),
        ({"/data": "v", "/data/": "v"}, "are the same path"),
        ({"/data": ""}, "no volume given for '/data'"),
    ],
)
async def test_bad_mount_paths_name_volumes(client, app, image, volume, volumes, words):
    volumes = {path: volume.name if name == "v" else name for path, name in volumes.items()}
    with pytest.raises(InvalidArgumentError) as caught:
        await client.sandboxes.create(app, image, volumes=volumes)
    assert str(caught.value).startswith("volumes: ") and words in str(caught.value)
    assert await _count(client, app) == 0


async def test_bad_volume_names(client):
    with pytest.raises(InvalidArgumentError, match="^name: 'bad name!' is not a valid name"):
        await client.volumes.from_name("bad name!", create_if_missing=True)
    with pytest.raises(InvalidArgumentError, match="^environment: "):
        await client.volumes.from_name("fine", create_if_missing=True, environment="no good")


async def test_delete_is_refused_while_a_sandbox_mounts_it(client, app, image, engine, volume):
    sb = await client.sandboxes.create(app, image, volumes={"/busy": volume}, timeout=120)
    try:
        with pytest.raises(FailedPreconditionError) as caught:
            await client.volumes.delete(volume.name)
        message = str(caught.value)
        assert f"volume '{volume.name}' is mounted by running sandbox {sb.sandbox_id} (at /busy)" in message
        assert await client.volumes.from_name(volume.name) == volume
        assert engine_has_volume(engine, volume)
        await output(sb, ["sh", "-c", "echo kept > /busy/f"])
    finally:
        await sb.terminate(wait=True)
    # Right after the sandbox ends its container may still be on its way out: delete waits for it.
    await client.volumes.delete(volume.name)
    assert not engine_has_volume(engine, volume)
    # A new volume of the same name starts empty.
    fresh = await client.volumes.from_name(volume.name, create_if_missing=True)
    assert fresh.volume_id != volume.volume_id
    sb = await client.sandboxes.create(app, image, volumes={"/busy": fresh}, timeout=120)
    try:
        assert await output(sb, ["sh", "-c", "ls -A /busy | wc -l"]) == "0\n"
    finally:
        await sb.terminate(wait=True)
    await client.volumes.delete(fresh.name)


def test_cli_volume_create_list_mount_and_delete(server):
    name = unique("cli-vol")
    volume_id = ok(server, "volume", "create", name).strip()
    assert volume_id.startswith("vo-")
    again = cli(server, "volume", "create", name)
    assert again.returncode == 1 and f"volume '{name}' already exists".encode() in again.stderr
    table = ok(server, "volume", "list").splitlines()
    assert table[0].split() == ["NAME", "ID", "NODE", "AGE"]
    [row] = [line.split() for line in table if line.split()[0] == name]
    assert row[:2] == [name, volume_id]
    node = row[2]  # where its data is: every sandbox mounting it runs there
    listed = [v for v in json_lines(ok(server, "volume", "list", "--json")) if v["name"] == name]
    assert [(v["volume_id"], v["environment"], v["node"]) for v in listed] == [(volume_id, "main", node)]

    made = json.loads(
        ok(
            server,
            "sandbox",
            "create",
            "--app",
            "cli-volumes",
            "--volume",
            f"/data={name}",
            "--timeout",
            "2m",
            "--json",
        )
    )
    try:
        assert made["volumes"] == {"/data": name}
        assert made["node"] == node
        ok(server, "sandbox", "exec", made["sandbox_id"], "--", "sh", "-c", "echo from-cli > /data/f")
        busy = cli(server, "volume", "delete", name)
        assert busy.returncode == 1 and made["sandbox_id"].encode() in busy.stderr
    finally:
        ok(server, "sandbox", "terminate", "--wait", made["sandbox_id"])
    second = ok(
        server, "sandbox", "create", "--app", "cli-volumes", "--volume", f"/v={name}", "--timeout", "2m"
    ).strip()
    try:
        assert ok(server, "sandbox", "exec", second, "--", "cat", "/v/f") == "from-cli\n"
    finally:
        ok(server, "sandbox", "terminate", "--wait", second)

    unknown = cli(server, "sandbox", "create", "--app", "cli-volumes", "--volume", "/data=no-such-vol")
    assert unknown.returncode == 3 and b"volume 'no-such-vol' does not exist" in unknown.stderr
    relative = cli(server, "sandbox", "create", "--app", "cli-volumes", "--volume", f"data={name}")
    assert relative.returncode == 1 and b"volumes: 'data' is not an absolute path" in relative.stderr
    assert ok(server, "volume", "delete", name) == ""
    assert cli(server, "volume", "delete", name).returncode == 3
    assert name not in ok(server, "volume", "list")
