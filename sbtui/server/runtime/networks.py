"""One engine network per environment: sandboxes of one environment reach each other, those of
different environments don't.

Each engine keeps its bridge networks apart from each other: Docker every one (its
DOCKER-ISOLATION chains), Podman those made with its `isolate` option (on the CNI backend the
firewall plugin's same-bridge ingress policy, on netavark its own rules). The host reaches
every network, so tunnels still join connections at a container's address.

A network is named from a digest of the server's id and the environment, since an environment's
name is a tenant's string and must never become part of an engine name or option; its labels
(values only, which no engine parses) say whose it is.

The first create in an environment makes its network; it is removed once no container uses
it: when the last container on it is removed, and at server start (one a killed server left).
So the engine's address pools hold only environments that have sandboxes, which matters on
Docker, whose default pools give about 30 bridge networks per host.
"""

from __future__ import annotations

import hashlib

from sbtui.server.runtime.base import NetworkSpec
from sbtui.server.runtime.naming import LABEL_ENVIRONMENT, LABEL_SERVER

PREFIX = "sbtui-env-"


def for_environment(server_id: str, environment: str) -> NetworkSpec:
    digest = hashlib.sha256(f"{server_id}\0{environment}".encode()).hexdigest()[:24]
    return NetworkSpec(PREFIX + digest, {LABEL_SERVER: server_id, LABEL_ENVIRONMENT: environment})


def is_environment_network(name: str) -> bool:
    return name.startswith(PREFIX)


def pools_used_up(message: str) -> str | None:
    """What to do when the engine has no address range left for another network."""
    lowered = message.lower()
    if "address pool" in lowered or "free subnet" in lowered:
        return (
            "the engine has no address range left for another network (each environment with "
            "sandboxes has one); end the sandboxes of environments no longer used, or give the "
            "engine more: default-address-pools in /etc/docker/daemon.json (e.g. "
            '[{"base": "10.200.0.0/16", "size": 24}] gives 256 networks), default_subnet_pools '
            "in containers.conf for Podman"
        )
    return None
