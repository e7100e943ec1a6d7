"""The server says up front which create parameters it can't honour, and why: the capabilities
call, `sbtui info` and the create's refusal all give the same reason, from one table."""

from __future__ import annotations

import json

import pytest

from sbtui.client import CloudBucketMount, FailedPreconditionError
from sbtui.server.runtime import gpu
from tests.integration.test_cli import ok

# Each parameter a server on one local engine can't honour, by its wire name, with a create
# keyword that sets it.
LOCAL_ENGINE_CANT = {
    "cloud": {"cloud": "aws"},
    "regions": {"regions": ["us-east-1"]},
    "proxy_id": {"proxy": "pr-1"},
    "cloud_bucket_mounts": {"cloud_bucket_mounts": {"/data": CloudBucketMount("my-bucket")}},
}
GPU = {"gpu": {"gpu": "T4"}}


def cant_here() -> dict[str, dict]:
    """What this host's servers can't honour: GPUs too on a host without any."""
    return {**LOCAL_ENGINE_CANT, **({} if gpu.host_gpus() else GPU)}


async def test_capabilities_name_what_a_create_refuses_with_the_same_reason(client, app, image):
    unsupported = (await client.capabilities()).unsupported_create_fields
    assert set(unsupported) == set(cant_here())
    for field, kwargs in cant_here().items():
        reason = unsupported[field]
        assert len(reason) > 20, (field, reason)  # a reason a person can act on
        with pytest.raises(FailedPreconditionError) as refused:
            await client.sandboxes.create(app, image, **kwargs)
        assert str(refused.value) == f"{field} is not supported by this server: {reason}"
        assert refused.value.field == field
    assert [s async for s in client.sandboxes.list(app_id=app.app_id, include_finished=True)] == []


async def test_a_supported_parameter_is_not_named(client):
    capabilities = await client.capabilities()
    for field in ("cpu", "memory_mib", "env", "volumes", "encrypted_ports", "block_network", "name"):
        assert capabilities.unsupported(field) is None
    assert capabilities.unsupported("regions") == capabilities.unsupported_create_fields["regions"]


async def test_info_shows_the_parameters_the_server_cant_honour(server, client):
    unsupported = (await client.capabilities()).unsupported_create_fields
    text = ok(server, "info")
    lines = [line for line in text.splitlines() if line.startswith(("unsupported", " " * 12))]
    assert lines == [
        f"{'unsupported' if n == 0 else '':<11} {field}: {unsupported[field]}"
        for n, field in enumerate(sorted(unsupported))
    ], text
    assert json.loads(ok(server, "info", "--json"))["unsupported_create_fields"] == unsupported
