"""The small interface every container engine sits behind.

The server speaks only these types; an engine module turns them into its own API calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable, Protocol


class EngineError(Exception):
    """The engine refused or failed a call. `status` is the engine's HTTP status, if any."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class EngineNotFound(EngineError):
    """The container, image or exec the call named does not exist in the engine."""


class EngineUnavailable(EngineError):
    """No engine answers; the message says what to install or start."""


class EngineInUse(EngineError):
    """The object (e.g. a volume) is in use by a container and can't be removed."""


class BadImageReference(EngineError):
    """An image reference the engine can't parse."""


class RegistryUnreachable(EngineError):
    """The registry of an image could not be reached or refused to talk."""


class Unschedulable(EngineError):
    """No node of the cluster can take the sandbox (its resources, its placement labels); the
    message names what is missing."""


class GpuUnavailable(EngineError):
    """The GPUs a sandbox asks for can't be given here; the message says why and what to do."""


@dataclass
class ImageInfo:
    engine_id: str  # "sha256:..."
    tag: str
    created_at: float
    size_bytes: int
    labels: dict[str, str] = field(default_factory=dict)
    env: list[str] = field(default_factory=list)  # "KEY=VALUE" as the image's config lists them


@dataclass
class NetworkSpec:
    """An engine network a container joins, made by the runtime when it is missing."""

    name: str
    labels: dict[str, str]
    internal: bool = False  # no way out of it: only what is on it reaches each other


@dataclass
class ContainerSpec:
    name: str
    image: str  # the engine's image id
    command: list[str]
    env: dict[str, str]
    labels: dict[str, str]
    workdir: str = ""
    tty: bool = False
    cpu: float = 0.0
    cpu_limit: float = 0.0
    memory_mib: int = 0
    memory_limit_mib: int = 0
    network_disabled: bool = False
    pids_limit: int = 1024  # processes and threads at once: stops a fork bomb
    open_files: int = 0  # RLIMIT_NOFILE of each process; 0 = the engine's
    log_bytes: int = 0  # the most the engine's log of the output may take on disk; 0 = unbounded
    disk_bytes: int = 0  # the writable layer's size, where the engine can enforce it
    mounts: dict[str, str] = field(default_factory=dict)  # container path -> engine volume name
    # On a cluster: each mounted volume's name (as its user knows it) -> the node holding it.
    volume_nodes: dict[str, str] = field(default_factory=dict)
    gpus: list[str] = field(default_factory=list)  # NVIDIA device ids (UUIDs or indices)
    # Networks the sandbox may reach (None = no restriction), and the labels of the container
    # that then holds its network namespace (see runtime/egress.py).
    egress_allowlist: list[str] | None = None
    network_holder_labels: dict[str, str] = field(default_factory=dict)
    network: NetworkSpec | None = None  # its environment's network (runtime/networks.py)
    # Where it may run, on a runtime with more than one node: any of these regions, this cloud
    # (the nodes' sbtui.region and sbtui.cloud labels).
    regions: list[str] = field(default_factory=list)
    cloud: str = ""
    image_ref: str = ""  # the reference the image was pulled by, if it came from a registry


@dataclass
class WritablePaths:
    """What a container writes to outside its volumes, as paths on the engine's host: the
    upper directory of its writable layer ('' if the engine has none to show), and the files
    the engine mounts writable into it (/etc/hosts and the like)."""

    layer: str
    files: list[str] = field(default_factory=list)


@dataclass
class ContainerExit:
    exit_code: int
    oom_killed: bool  # the engine says the OOM killer struck in the container
    finished_at: float
    memory_limited: bool = False  # it ran under a memory limit (see Transitions.finish)
    node_lost: bool = False  # the node holding it was lost: what ran there is given up
    # Its node's engine started again while it ran, which ends the node's containers (swarm
    # mode has no live restore): killed by the engine, whatever the signal suggests.
    engine_restarted: bool = False


@dataclass
class ContainerState:
    container_id: str
    labels: dict[str, str]
    running: bool
    started_at: float
    exit: ContainerExit | None = None
    # The machine it runs on, as the engine names it: the engine's host for a single engine,
    # the node holding the task on a cluster; "" while not placed.
    node: str = ""


@dataclass
class ExecSpec:
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = ""
    tty: bool = False
    stdin: bool = True
    stdout: bool = True
    stderr: bool = True
    rows: int = 24
    cols: int = 80


# Connects to a port of a container: an asyncio stream pair, or objects that read and write as
# one (a connection through a node agent). Raises OSError when nothing accepts.
Dialer = Callable[[int], Awaitable[tuple[Any, Any]]]


class ExecSession(Protocol):
    """A running exec: a duplex byte stream plus control calls."""

    exec_id: str
    # Its stream goes through the engine's API: a loss of the engine cuts it, however it seems
    # to end. False for one carried by a node's agent, which the manager's loss leaves alone.
    through_engine: bool

    async def read(self) -> tuple[int, bytes] | None:
        """Next (fd, bytes) chunk, fd 1 = stdout, 2 = stderr; None at end of output."""

    async def write(self, data: bytes) -> None: ...

    async def close_stdin(self) -> None: ...

    async def resize(self, rows: int, cols: int) -> None: ...

    async def signal(self, signum: int) -> None: ...

    async def exit_code(self) -> int:
        """The exit code once output has ended."""

    async def close(self) -> None: ...


class Runtime(Protocol):
    name: str

    async def version(self) -> str: ...

    async def answers(self) -> bool:
        """Whether the engine takes new connections and answers on them."""

    async def list_networks(self) -> None:
        """List the engine's networks, and nothing more: a call a hung engine never answers
        (engine_watch.py), though it answers pings."""

    async def containers_stop_with_engine(self) -> bool:
        """Whether the engine's containers stop when the engine stops."""

    async def cpus(self) -> int:
        """How many CPUs the engine's host has."""

    async def resolve_image(self, ref: str) -> ImageInfo:
        """Inspect `ref` locally, pulling it first when it is missing."""

    async def inspect_image(self, ref: str) -> ImageInfo | None: ...

    async def import_image(self, tar: bytes, repo: str, tag: str, labels: dict[str, str]) -> None: ...

    def pull(self, ref: str) -> AsyncIterator[dict]:
        """Pull `ref`, yielding the engine's progress events as they come."""

    async def commit(
        self, container_id: str, repo: str, tag: str, labels: dict[str, str], env: list[str] | None = None
    ) -> str:
        """Commit a container's filesystem to an image; returns the engine image id.

        With `env`, the image's environment is exactly `env`, and nothing of the container's
        own environment is kept anywhere in the image (engines copy it in otherwise)."""

    def logs(
        self, container_id: str, follow: bool, tty: bool, tail: int = 0
    ) -> AsyncIterator[tuple[int, bytes]]:
        """The main command's output as (fd, bytes), the last `tail` lines if > 0; with
        follow, until the container stops."""

    async def last_output(self, container_id: str, tty: bool, size: int) -> list[tuple[int, bytes]]:
        """The last `size` bytes of the main command's output as (fd, bytes), read from the end
        of the engine's log: the cost follows `size`, not the output's length."""

    def no_gpus(self) -> str:
        """Why no sandbox here can have any GPU (the host has none, or the engine can't attach
        them), "" if some GPU spec may be given."""

    # Whether its sandboxes' writes are on other machines, measured there (disk_used), rather
    # than walked by the server at writable_paths (disk.py).
    writes_elsewhere: bool
    places_by_labels: bool  # whether regions and cloud choose among nodes (their labels)

    def unsupported_fields(self) -> dict[str, str]:
        """SandboxCreateParams fields this runtime can't honour, each with why."""
        ...

    def gpus_for(self, spec: str) -> list[str]:
        """Device ids of this host's GPUs that give the GPU spec ('T4', 'A100:2');
        GpuUnavailable when the host or the engine can't."""

    async def create_and_start(self, spec: ContainerSpec) -> str:
        """Create and start a container; returns its engine id."""

    async def finish_start(self, container_id: str, egress_allowlist: list[str] | None) -> None:
        """Carry out what a create cut short by a server's end may have left undone, once the
        container runs: nothing where starting the container starts the command; on a cluster,
        its command let through its gate (launcher.py), the allowlist set first."""

    async def create_volume(self, name: str, labels: dict[str, str]) -> str:
        """Create the named volume; one that exists already is left as it is. Returns the node
        that holds it on a cluster (its sandboxes are placed there), "" on one engine."""

    async def remove_volume(self, name: str, node: str = "") -> None:
        """Remove the named volume from `node` (as create_volume returned it); EngineInUse
        while a container uses it, nothing if it is gone."""

    async def node_names(self) -> dict[str, str]:
        """The name of each node by what create_volume returns for it: on one engine {"": its
        host}; on a cluster its nodes by id, and "" for the manager's engine."""

    async def remove_unused_networks(self, label: str) -> None:
        """Remove the networks carrying `label` that no container uses."""

    async def inspect(self, container_id: str) -> ContainerState | None: ...

    async def writable_paths(self, container_id: str) -> WritablePaths | None:
        """Where on this host the container's writes land; None when it is gone."""

    async def disk_used(self, container_id: str) -> int | None:
        """The bytes the container's writes take on the disk of the machine holding it,
        measured there (disk.usage); None when it is gone. Raises disk.TooDeep."""

    async def dialer(self, container_id: str) -> Dialer | None:
        """How the server connects to a TCP port of the container (a tunnel's connection);
        None when it can't be reached (no network, or gone)."""

    async def kill(self, container_id: str) -> None: ...

    async def remove(self, container_id: str) -> None:
        """Remove the container, and its environment network once no container uses it."""

    async def list_managed(self, label: str) -> list[ContainerState]: ...

    def events(
        self, label: str, connected: Callable[[], None] | None = None
    ) -> AsyncIterator[tuple[str, str, dict[str, str]]]:
        """("new", id, labels) as containers carrying `label` are created or started, ("exit",
        id, labels) as they exit; ends when the engine goes away.

        `connected` is called once the engine has accepted the subscription."""

    async def exec(self, container_id: str, spec: ExecSpec) -> ExecSession: ...

    async def kill_execs(self, container_ids: list[str]) -> None:
        """Kill whatever execs still run in the containers (a previous server's sessions)."""

    async def close(self) -> None: ...
