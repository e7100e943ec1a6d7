"""Snapshots: a sandbox's filesystem becomes an image a new sandbox starts from."""

from __future__ import annotations

import pytest

from sbtui.client import FailedPreconditionError, NotFoundError


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
