"""Snapshots: a sandbox's filesystem becomes an image a new sandbox starts from."""

from __future__ import annotations

import json
import secrets as random
import subprocess

import aiodocker
import pytest

from sbtui.client import FailedPreconditionError, NotFoundError
from tests import engine_view


async def test_snapshot_starts_a_sandbox_that_sees_the_files(client, app, image):
    source = await client.sandboxes.create(app, image)
    p = await source.exec(["sh", "-c", "mkdir -p /work && echo kept > /work/file"])
    assert await p.wait() == 0
    snap = await source.snapshot_filesystem(timeout=120)
    assert snap.image_id.startswith("im-") and snap.source_sandbox_id == source.sandbox_id
    await source.terminate()
    copy = await client.sandboxes.create(app, snap)
    p = await copy.exec(["cat", "/work/file"])
    assert await p.stdout.read() == b"kept\n"
    await copy.terminate()
    listed = await client.images.list(snapshots_only=True)
    assert snap.image_id in [i.image_id for i in listed]
    entry = next(i for i in listed if i.image_id == snap.image_id)
    assert entry.source_sandbox_id == source.sandbox_id and entry.created_at > 0
    assert all(i.source_sandbox_id for i in listed)
    assert (await client.images.from_id(snap.image_id)).image_id == snap.image_id


async def test_snapshot_of_a_finished_sandbox_is_refused(client, app, image):
    sb = await client.sandboxes.create(app, image, command=["true"])
    assert await sb.wait() == 0
    with pytest.raises(FailedPreconditionError, match="not running \\(exit code 0\\); snapshot a running"):
        await sb.snapshot_filesystem(timeout=30)


async def test_snapshot_of_an_unknown_sandbox_is_not_found(client, sandbox):
    ghost = type(sandbox)(sandbox._connection, sandbox.info)
    ghost.sandbox_id = "sb-ghost"
    with pytest.raises(NotFoundError, match="sb-ghost"):
        await ghost.snapshot_filesystem(timeout=30)


# ---- secrets ---------------------------------------------------------------------------------


async def engine_json(server, ref: str) -> str:
    """Everything the engine tells of image `ref`: its inspection (Docker's form, which has the
    config of the container it was committed from, and on Podman also Podman's own), its
    history, and the whole archive it saves (config, manifest, legacy JSON, layers). On swarm
    the manager's copy was pulled from the cluster registry: the registry's config and layers."""
    async with aiodocker.Docker(url=server.engine_url) as engine:
        parts = [json.dumps(await engine.images.inspect(ref)), json.dumps(await engine.images.history(ref))]
        async with engine.images.export_image(ref) as archive:
            parts.append((await archive.read()).decode("latin-1"))
    if server.engine == "podman":
        parts.append(
            subprocess.run(
                ["podman", "--url", server.engine_url, "image", "inspect", ref],
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            ).stdout
        )
    return "\n".join(parts)


async def env_of(sandbox) -> dict[str, str]:
    p = await sandbox.exec(["env"])
    out = (await p.stdout.read()).decode()
    assert await p.wait() == 0
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


async def test_a_snapshot_carries_no_secret_values(client, app, image, server):
    value = "v4lue-" + random.token_hex(12)
    secret = await client.secrets.create(f"snap-{random.token_hex(4)}", {"TOKEN": value})
    source = await client.sandboxes.create(app, image, secrets=[secret], env={"OWN": "mine"}, timeout=120)
    try:
        # The secret was given, and the engine holds it in the container's config: what a
        # commit copies into its image (on swarm, the container on the task's node).
        assert (await env_of(source))["TOKEN"] == value
        assert value in json.dumps(engine_view.container(server, source.sandbox_id))
        p = await source.exec(["sh", "-c", "echo kept > /file"])
        assert await p.wait() == 0
        snap = await source.snapshot_filesystem(timeout=120)
    finally:
        await source.terminate()
    ref = f"localhost/sbtui/snapshot:{snap.image_id.lower()}"

    async def started_from_snapshot(**params) -> dict[str, str]:
        copy = await client.sandboxes.create(app, snap, timeout=120, **params)
        try:
            p = await copy.exec(["cat", "/file"])
            assert await p.stdout.read() == b"kept\n"  # the filesystem is there
            return await env_of(copy)
        finally:
            await copy.terminate()

    for secret_exists in (True, False):
        assert value not in await engine_json(server, ref)
        env = await started_from_snapshot()
        assert "TOKEN" not in env and value not in "".join(env.values())
        assert env["OWN"] == "mine"  # the sandbox's own env is kept
        if secret_exists:
            await client.secrets.delete(secret.name)
    # Secrets come from the new sandbox's own `secrets` only: a replacement's value, not the old.
    again = await client.secrets.create(secret.name, {"TOKEN": "replaced"})
    assert (await started_from_snapshot(secrets=[again]))["TOKEN"] == "replaced"
    await client.secrets.delete(secret.name)
