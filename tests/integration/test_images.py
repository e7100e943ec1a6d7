"""Images from a real registry (on 127.0.0.1; on the swarm, on the cluster's network): pulls with
progress, and clear errors."""

from __future__ import annotations

import secrets

import pytest

from sbtui.client import FailedPreconditionError, InvalidArgumentError, NotFoundError


async def test_pull_reports_progress_and_the_image_runs(client, app, image_registry):
    marker = secrets.token_hex(8)
    ref = image_registry.push(f"sbtui/pulled-{marker}:v1", marker)
    events = [e async for e in client.images.pull(ref)]
    assert events[-1].image is not None and events[-1].image.image_id.startswith("im-")
    assert events[-1].image.tag == ref
    assert any(e.status and e.image is None for e in events), "the engine's progress must show"
    sb = await client.sandboxes.create(app, client.images.from_registry(ref))
    p = await sb.exec(["cat", "/marker"])
    assert (await p.stdout.read()).decode() == marker
    await sb.terminate()
    # A second pull finds the image present: no engine progress, just the image.
    again = [e async for e in client.images.pull(ref)]
    assert [e.status for e in again] == ["ready"] and again[0].image.image_id == events[-1].image.image_id


async def test_create_pulls_a_missing_registry_image(client, app, image_registry):
    marker = secrets.token_hex(8)
    ref = image_registry.push(f"sbtui/on-create-{marker}:v1", marker)
    image = client.images.from_registry(ref)
    sb = await client.sandboxes.create(app, image)
    assert image.image_id == sb.info.image_id and sb.info.image_tag == ref
    await sb.terminate()


async def test_missing_image_in_the_registry_is_not_found(client, image_registry):
    with pytest.raises(NotFoundError, match="was not found in its registry"):
        async for _ in client.images.pull(f"{image_registry.host}/sbtui/never-pushed:v1"):
            pass


async def test_unreachable_registry_is_a_clear_error(client, registry):
    # A port on loopback that nothing listens on: the registry can't be reached.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FailedPreconditionError, match="could not be reached"):
        await client.images.from_registry(f"127.0.0.1:{port}/sbtui/x:v1").resolve()


@pytest.mark.parametrize("ref", ["BAD::REF", "UPPER/Case:1", "has space:1", ""])
async def test_bad_reference_names_the_tag(client, ref):
    if not ref:
        with pytest.raises(ValueError, match="image tag"):
            client.images.from_registry(ref)
        return
    with pytest.raises(InvalidArgumentError, match="^tag: "):
        async for _ in client.images.pull(ref):
            pass
