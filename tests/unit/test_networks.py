"""Environment networks: names no tenant string reaches, the advice when pools run out, and
which engines change one network one container at a time."""

from __future__ import annotations

import re

import pytest

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


@pytest.mark.parametrize(
    ("engine", "version", "collide"),
    [
        ("docker", "20.10.24+dfsg1", True),  # Debian 12's
        ("docker", "20.10.26", True),
        ("docker", "19.03.15", True),
        ("docker", "20.10.27", False),
        ("docker", "24.0.7", False),
        ("docker", "28.2.2", False),
        ("docker", "", False),  # an engine that says no version is not held back for it
        ("podman", "4.3.1", False),
        ("swarm", "20.10.24+dfsg1", False),  # overlay networks skip the loop that deadlocks
    ],
)
def test_only_a_docker_before_the_fix_has_its_network_changes_go_one_at_a_time(engine, version, collide):
    assert networks.changes_collide(engine, version) is collide
