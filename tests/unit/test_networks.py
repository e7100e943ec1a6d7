"""Environment networks: names no tenant string reaches, and the advice when pools run out."""

from __future__ import annotations

import re

from sbtui.server.runtime import networks

HOSTILE = ["main", "x,isolate=false", "a b", "../x", "a\nb", "é", "o=bind,device=/etc", ""]


def test_names_are_digests_of_server_and_environment():
    names = {networks.for_environment("srv1", env).name for env in HOSTILE}
    assert len(names) == len(HOSTILE)
    for name in names:
        assert re.fullmatch(r"sbtui-env-[0-9a-f]{24}", name) and networks.is_environment_network(name)
    # Another server's network for the same environment is another network.
    assert networks.for_environment("srv2", "main").name != networks.for_environment("srv1", "main").name
    spec = networks.for_environment("srv1", "x,isolate=false")
    assert spec.labels == {"io.sbtui.server": "srv1", "io.sbtui.environment": "x,isolate=false"}


def test_used_up_address_pools_get_advice():
    docker = (
        "could not find an available, non-overlapping IPv4 address pool among the defaults "
        "to assign to the network"
    )
    podman = "could not find free subnet from subnet pools"
    for message in (docker, podman):
        advice = networks.pools_used_up(message)
        assert advice and "default-address-pools" in advice and "default_subnet_pools" in advice
    assert networks.pools_used_up("network with name x already exists") is None
