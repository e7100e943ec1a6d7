"""What the server calls what it makes in an engine, and the labels saying whose each thing is.

Every runtime keeps these, so that a server finds its own containers, volumes and networks
again after a restart whatever engine holds them, and never touches another server's.
"""

from __future__ import annotations

PREFIX = "sbtui-"

# On every container, volume and network of the server: its id.
LABEL_SERVER = "io.sbtui.server"
LABEL_SANDBOX = "io.sbtui.sandbox"  # on a sandbox's container
LABEL_APP = "io.sbtui.app"
# On the container holding a sandbox's network namespace (see egress.py): the sandbox's id.
LABEL_NETWORK_OF = "io.sbtui.network-of"
LABEL_VOLUME = "io.sbtui.volume"
LABEL_ENVIRONMENT = "io.sbtui.environment"  # on an environment's network (networks.py)
LABEL_SNAPSHOT_SOURCE = "io.sbtui.snapshot.source"  # on a snapshot: the sandbox it was taken of

# On a swarm node, set by the operator through the manager: where it is (a sandbox's regions and
# cloud choose among these), and its agent's HOST:PORT when not its swarm address at AGENT_PORT.
NODE_REGION = "sbtui.region"
NODE_CLOUD = "sbtui.cloud"
NODE_AGENT = "sbtui.agent"
AGENT_PORT = 7443

SNAPSHOT_REPO = "localhost/sbtui/snapshot"  # snapshots are tagged SNAPSHOT_REPO:<image id>
HOLDER_SUFFIX = "-net"


def owned_by(server_id: str) -> str:
    """The label filter that finds what the server `server_id` made."""
    return f"{LABEL_SERVER}={server_id}"


def sandbox_container(sandbox_id: str) -> str:
    return PREFIX + sandbox_id


def network_holder(sandbox_id: str) -> str:
    """The container holding the sandbox's network namespace, when it has an allowlist."""
    return sandbox_container(sandbox_id) + HOLDER_SUFFIX


def volume(volume_id: str) -> str:
    return PREFIX + volume_id
