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
# On swarm regions and cloud choose among the nodes' labels, and GPUs are never placed.
SWARM_CANT = {
    "proxy_id": LOCAL_ENGINE_CANT["proxy_id"],
    "cloud_bucket_mounts": LOCAL_ENGINE_CANT["cloud_bucket_mounts"],
    **GPU,
}


def cant_here(engine: str) -> dict[str, dict]:
    """What this host's servers on `engine` can't honour: GPUs too on a host without any."""
    if engine == "swarm":
        return SWARM_CANT
    return {**LOCAL_ENGINE_CANT, **({} if gpu.host_gpus() else GPU)}


async def test_capabilities_name_what_a_create_refuses_with_the_same_reason(server, client, app, image):
    unsupported = (await client.capabilities()).unsupported_create_fields
    cant = cant_here(server.engine)
    assert set(unsupported) == set(cant)
    for field, kwargs in cant.items():
        reason = unsupported[field]
        assert len(reason) > 20, (field, reason)  # a reason a person can act on
        with pytest.raises(FailedPreconditionError) as refused:
            await client.sandboxes.create(app, image, **kwargs)
        assert str(refused.value) == f"{field} is not supported by this server: {reason}"
        assert refused.value.field == field
    assert [s async for s in client.sandboxes.list(app_id=app.app_id, include_finished=True)] == []


async def test_a_supported_parameter_is_not_named(server, client):
    capabilities = await client.capabilities()
    supported = ["cpu", "memory_mib", "env", "encrypted_ports", "block_network", "name", "volumes"]
    supported += ["cidr_allowlist"]
    if server.engine == "swarm":  # placed by the nodes' labels
        supported += ["regions", "cloud"]
    for field in supported:
        assert capabilities.unsupported(field) is None, field
    assert capabilities.unsupported("proxy_id") == capabilities.unsupported_create_fields["proxy_id"]


async def test_info_shows_the_parameters_the_server_cant_honour(server, client):
    unsupported = (await client.capabilities()).unsupported_create_fields
    text = ok(server, "info")
    lines = [line for line in text.splitlines() if line.startswith(("unsupported", " " * 12))]
    assert lines == [
        f"{'unsupported' if n == 0 else '':<11} {field}: {unsupported[field]}"
        for n, field in enumerate(sorted(unsupported))
    ], text
    assert json.loads(ok(server, "info", "--json"))["unsupported_create_fields"] == unsupported
