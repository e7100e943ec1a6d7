"""What the swarm manager says of services, tasks and nodes, read into plain values.

A sandbox on swarm is a one-replica service that is never restarted: it has one task, which
SwarmKit places on a node, where that node's engine runs it as a container.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sbtui.server.runtime.engine_api import timestamp
from sbtui.server.runtime.naming import NODE_CLOUD, NODE_REGION

# Task states before its container runs, in SwarmKit's order.
WAITING = {"new", "pending", "assigned", "accepted", "preparing", "ready", "starting"}
ENDED = {"complete", "failed", "shutdown", "rejected", "orphaned", "remove"}
# A node the manager has not heard from (its engine stopped, its network cut).
NODE_GONE = {"down", "unknown", "disconnected"}


@dataclass
class Task:
    task_id: str
    service_id: str
    node_id: str
    state: str  # SwarmKit's task state
    message: str  # what SwarmKit says of that state, its error if any
    container_id: str
    exit_code: int | None
    changed_at: float  # when it reached this state
    created_at: float
    labels: dict[str, str] = field(default_factory=dict)  # its container's
    memory_limited: bool = False

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def ended(self) -> bool:
        return self.state in ENDED

    @property
    def never_started(self) -> bool:
        """Ended without its command ever running: the engine could not start its container
        (a program not found, say), which a local engine answers to the create."""
        return self.ended and self.message.startswith("starting container failed")


def task(data: dict) -> Task:
    spec = data.get("Spec") or {}
    status = data.get("Status") or {}
    container = status.get("ContainerStatus") or {}
    code = container.get("ExitCode")
    return Task(
        task_id=data.get("ID", ""),
        service_id=data.get("ServiceID", ""),
        node_id=data.get("NodeID", ""),
        state=status.get("State", ""),
        message=status.get("Err") or status.get("Message") or "",
        container_id=container.get("ContainerID", ""),
        exit_code=None if code is None else int(code),
        changed_at=timestamp(status.get("Timestamp")) or time.time(),
        created_at=timestamp(data.get("CreatedAt")) or 0.0,
        labels=(spec.get("ContainerSpec") or {}).get("Labels") or {},
        memory_limited=bool(((spec.get("Resources") or {}).get("Limits") or {}).get("MemoryBytes")),
    )


def by_service(tasks: list[Task]) -> dict[str, Task]:
    """Each service's current task, its newest: a sandbox's service has one, never restarted."""
    found: dict[str, Task] = {}
    for one in tasks:
        kept = found.get(one.service_id)
        if kept is None or one.created_at > kept.created_at:
            found[one.service_id] = one
    return found


def labelled(labels: dict[str, str], label: str) -> bool:
    """Whether `labels` match the filter `label` ("key" or "key=value")."""
    key, has_value, value = label.partition("=")
    return key in labels and (not has_value or labels[key] == value)


@dataclass
class Node:
    node_id: str
    name: str  # its host name: what the dashboard shows, and what its agent's certificate names
    state: str  # ready, down, unknown, disconnected
    availability: str  # active, pause, drain
    address: str  # the address it reached the manager from
    labels: dict[str, str] = field(default_factory=dict)
    cpus: float = 0.0
    memory_bytes: int = 0

    @property
    def ready(self) -> bool:
        return self.state == "ready" and self.availability == "active"

    @property
    def region(self) -> str:
        return self.labels.get(NODE_REGION, "")

    @property
    def cloud(self) -> str:
        return self.labels.get(NODE_CLOUD, "")


def node(data: dict) -> Node:
    spec = data.get("Spec") or {}
    status = data.get("Status") or {}
    description = data.get("Description") or {}
    resources = description.get("Resources") or {}
    return Node(
        node_id=data.get("ID", ""),
        name=description.get("Hostname", ""),
        state=status.get("State", ""),
        availability=spec.get("Availability", ""),
        address=status.get("Addr", ""),
        labels=spec.get("Labels") or {},
        cpus=int(resources.get("NanoCPUs") or 0) / 1e9,
        memory_bytes=int(resources.get("MemoryBytes") or 0),
    )


def _named(candidate: Node) -> str:
    return candidate.name or candidate.node_id[:12]


@dataclass
class Placement:
    """Where a sandbox may run: the regions (any of) and the cloud its node must carry, the
    resources it reserves there, and the node of its volumes (each volume lives on one node)."""

    regions: list[str] = field(default_factory=list)
    cloud: str = ""
    cpus: float = 0.0
    memory_bytes: int = 0
    volumes: dict[str, str] = field(default_factory=dict)  # volume name -> the node id holding it

    @property
    def pinned_to(self) -> str:
        """The node id the sandbox's volumes hold it to ("" for none, or volumes on several)."""
        homes = {node_id for node_id in self.volumes.values() if node_id}
        return homes.pop() if len(homes) == 1 else ""

    def fits(self, candidate: Node) -> bool:
        return self.labelled(candidate) and self.room(candidate)

    def labelled(self, candidate: Node) -> bool:
        if self.regions and candidate.region not in self.regions:
            return False
        return not self.cloud or candidate.cloud == self.cloud

    def room(self, candidate: Node) -> bool:
        return candidate.cpus >= self.cpus and candidate.memory_bytes >= self.memory_bytes

    def constraints(self, nodes: list[Node]) -> list[str]:
        """SwarmKit constraints for this placement. Constraints only say == or !=, so 'any of
        these regions' excludes, by id, every node in the cluster now that is in none of them."""
        found = []
        if self.pinned_to:
            found.append(f"node.id=={self.pinned_to}")
        if self.cloud:
            found.append(f"node.labels.{NODE_CLOUD}=={self.cloud}")
        if len(self.regions) == 1:
            found.append(f"node.labels.{NODE_REGION}=={self.regions[0]}")
        elif self.regions:
            found += [f"node.id!={n.node_id}" for n in nodes if n.region not in self.regions]
        return found

    def unmet(self, nodes: list[Node]) -> str:
        """Why no node of `nodes` can take the sandbox ('' when one can)."""
        if any(self.volumes.values()):
            return self._unmet_on_volumes_node(nodes)
        ready = [n for n in nodes if n.ready]
        if any(self.fits(n) for n in ready):
            return ""
        if not ready:
            return "no node of the cluster is ready"
        labelled = [n for n in ready if self.labelled(n)]
        if not labelled:
            wanted = []
            if self.regions:
                wanted.append(f"{NODE_REGION} in ({', '.join(self.regions)})")
            if self.cloud:
                wanted.append(f"{NODE_CLOUD}={self.cloud}")
            have = "; ".join(
                f"{n.name or n.node_id[:12]}: region {n.region or '-'}, cloud {n.cloud or '-'}" for n in ready
            )
            return f"no ready node has {' and '.join(wanted)} (nodes: {have})"
        biggest = max(labelled, key=lambda n: (n.cpus, n.memory_bytes))
        return (
            f"no ready node has room for {self.cpus:g} CPUs and {self.memory_bytes // 2**20} MiB reserved "
            f"(the largest has {biggest.cpus:g} CPUs and {biggest.memory_bytes // 2**20} MiB)"
        )

    def _unmet_on_volumes_node(self, nodes: list[Node]) -> str:
        """Why the node holding the sandbox's volumes can't take it ('' when it can)."""
        by_id = {n.node_id: n for n in nodes}
        homes: dict[str, list[str]] = {}
        for name, node_id in sorted(self.volumes.items()):
            if node_id:
                homes.setdefault(node_id, []).append(repr(name))
        if len(homes) > 1:
            where = "; ".join(
                f"{', '.join(names)} on node {_named(by_id[node_id]) if node_id in by_id else node_id[:12]}"
                for node_id, names in homes.items()
            )
            return f"its volumes are on different nodes ({where}): a sandbox mounts volumes of one node only"
        node_id, names = next(iter(homes.items()))
        which = f"volume {names[0]}" if len(names) == 1 else f"volumes {', '.join(names)}"
        home = by_id.get(node_id)
        if home is None:
            return (
                f"{which} lived on node {node_id[:12]}, which has left the swarm: its data went with "
                "that node; delete the volume"
            )
        said = f"{which} lives on node {_named(home)}, which"
        if home.state != "ready":
            return f"{said} is {home.state or 'not ready'}; its sandboxes can run only there once it is back"
        if home.availability != "active":
            return f"{said} is set to {home.availability}; make it active again to run its sandboxes"
        if not self.labelled(home):
            wanted = []
            if self.regions:
                wanted.append(f"{NODE_REGION} in ({', '.join(self.regions)})")
            if self.cloud:
                wanted.append(f"{NODE_CLOUD}={self.cloud}")
            return (
                f"{said} has region {home.region or '-'}, cloud {home.cloud or '-'}, not "
                f"{' and '.join(wanted)}"
            )
        if not self.room(home):
            return (
                f"{said} has no room for {self.cpus:g} CPUs and {self.memory_bytes // 2**20} MiB reserved "
                f"(it has {home.cpus:g} CPUs and {home.memory_bytes // 2**20} MiB)"
            )
        return ""
