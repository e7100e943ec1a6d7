"""Plain data the client hands out and takes: apps, images, sandbox parameters and descriptions,
events, tunnels, tokens, the server's state. Converted to and from the wire in sbtui.client.wire
only."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Any, Awaitable, Callable, Mapping, overload

from sbtui.client.errors import InvalidArgumentError, NoTcpSocketError

Duration = float | int | timedelta
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


def whole(value: int, name: str, low: int, high: int) -> int:
    """`value` as a whole number for a wire field that holds `low`..`high`; a value outside
    is refused naming the field, before it reaches the wire (which can't carry it)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number, not {type(value).__name__}")
    if not low <= value <= high:
        error = InvalidArgumentError(f"{name}: {value} is outside {low}..{high}")
        error.field = name
        raise error
    return value


@overload
def seconds(value: Duration, name: str) -> float: ...
@overload
def seconds(value: Duration | None, name: str) -> float | None: ...
def seconds(value: Duration | None, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be seconds (int or float) or a timedelta, not {type(value).__name__}")
    return float(value)


class SandboxState(enum.Enum):
    CREATING = "creating"
    RUNNING = "running"
    TERMINATING = "terminating"
    FINISHED = "finished"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


class TerminationReason(enum.Enum):
    NONE = "none"
    EXITED = "exited"
    TERMINATED = "terminated"
    TIMEOUT = "timeout"
    IDLE_TIMEOUT = "idle timeout"
    OUT_OF_MEMORY = "out of memory"
    LOST = "lost"
    FAILED_TO_START = "failed to start"
    DISK_LIMIT = "disk limit"
    ENGINE_STOPPED = "engine stopped"
    NODE_LOST = "node lost"

    def __str__(self) -> str:
        return self.value


class EngineState(enum.Enum):
    OK = "ok"
    RESTARTING = "restarting"  # the server restarts the engine service it runs
    DOWN = "down"  # the engine (one the server does not run) does not answer
    UNKNOWN = "unknown"  # a server too old to say

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class EngineStatus:
    """How the server's container engine is doing (ServerInfo.engine_status)."""

    engine: str  # "docker" or "podman"
    state: EngineState
    attempt: int = 0  # RESTARTING: the restart attempt under way
    last_error: str = ""  # why it went away, or why the last restart attempt failed
    since: float = 0.0
    restarts: int = 0  # restarts by the server since it started
    service_pid: int = 0  # the engine service the server runs (admin callers only)

    def summary(self) -> str:
        """A few words: 'ok', 'ok, restarted 2 times', 'restarting (attempt 3)', 'down'."""
        if self.state == EngineState.RESTARTING:
            return f"restarting (attempt {self.attempt})"
        text = str(self.state)
        if self.restarts:
            text += f", restarted {self.restarts} time{'s' if self.restarts > 1 else ''}"
        return text

    def describe(self) -> str:
        """The summary with the last error, when there was one."""
        if self.last_error:
            return f"{self.summary()} (last error: {self.last_error})"
        return self.summary()


@dataclass(frozen=True)
class ServerInfo:
    """The server a client talks to (Client.server_info)."""

    version: str
    engine: str  # "docker" or "podman"
    engine_version: str
    engine_status: EngineStatus
    pid: int = 0  # 0 for a caller scoped to one environment, as state_dir: host details are the operator's
    state_dir: str = ""
    environment: str = ""  # the caller's token scope; "" for every environment (the admin)


@dataclass(frozen=True)
class Capabilities:
    """What the server can honour (Client.capabilities).

    `unsupported_create_fields` maps a create parameter, by its wire name (SandboxCreateParams:
    "gpu", "regions", "proxy_id", ...), to why this server can't honour it; a create that sets
    one is refused with that reason. A parameter not named is supported.
    """

    unsupported_create_fields: dict[str, str] = field(default_factory=dict)

    def unsupported(self, field: str) -> str | None:
        """Why the create parameter `field` (wire name) can't be honoured; None if it can."""
        return self.unsupported_create_fields.get(field) or None


@dataclass(frozen=True)
class App:
    app_id: str
    name: str
    environment: str


@dataclass(frozen=True)
class CloudBucketMount:
    bucket_name: str
    bucket_endpoint_url: str = ""
    key_prefix: str = ""
    secret: str = ""
    read_only: bool = False
    requester_pays: bool = False


class Image:
    """An image to start sandboxes from.

    `images.from_registry(tag)` gives one whose `image_id` is None until it is resolved,
    either by `await image.resolve()` or by the first sandbox created from it.
    """

    def __init__(
        self,
        tag: str = "",
        image_id: str | None = None,
        resolver: Callable[[Image], Awaitable[None]] | None = None,
    ) -> None:
        self.tag = tag
        self.image_id = image_id
        self.created_at = 0.0
        self.size_bytes = 0
        self.source_sandbox_id = ""  # set for snapshots
        self._resolver = resolver  # asks the server (Images), which fills in the rest

    def __repr__(self) -> str:
        source = f", source_sandbox_id={self.source_sandbox_id!r}" if self.source_sandbox_id else ""
        return f"Image(tag={self.tag!r}, image_id={self.image_id!r}{source})"

    async def resolve(self) -> Image:
        """Make sure the engine has the image (pulling it if needed) and learn its id."""
        if self.image_id is None:
            assert self._resolver is not None
            await self._resolver(self)
        return self


@dataclass(frozen=True)
class PullProgress:
    status: str
    layer: str = ""
    current: int = 0
    total: int = 0
    image: Image | None = None


@dataclass(frozen=True)
class Secret:
    """A named secret; its values stay on the server, only the names of its keys come back.

    `Secret("name")` is enough to pass to a create or an exec; `client.secrets` fills the rest.
    """

    name: str
    secret_id: str = ""
    environment: str = ""
    keys: tuple[str, ...] = ()
    created_at: float = 0.0


@dataclass(frozen=True)
class Volume:
    """A named volume: data that outlives the sandboxes that mount it."""

    name: str
    volume_id: str = ""
    environment: str = ""
    created_at: float = 0.0
    node: str = ""  # the node its data is on, where every sandbox mounting it runs


@dataclass(frozen=True)
class Token:
    """An environment-scoped token as the server lists it: never its value."""

    token_id: str
    environment: str
    description: str = ""
    created_at: float = 0.0


@dataclass(frozen=True)
class NewToken:
    """A token just created: `value` is the bearer token, which the server does not keep."""

    token: Token
    value: str = field(repr=False)  # out of reprs, so a logged or printed object can't leak it

    @property
    def token_id(self) -> str:
        return self.token.token_id

    @property
    def environment(self) -> str:
        return self.token.environment


@dataclass(frozen=True)
class Proxy:
    proxy_id: str


@dataclass(frozen=True)
class SandboxParams:
    """Every create parameter of a sandbox: what `Sandboxes.create` takes, by the same names,
    and what `SandboxInfo.params` gives back, as the server keeps them.

    None is "not set" where the server tells it from a value (cpu, memory, timeouts): its
    default applies, e.g. a timeout of 5 minutes. Durations are seconds. Secrets, volumes and
    the proxy are names (or ids): a secret's values never leave the server. Sequences are
    tuples (a list given is made one), so equal parameters compare equal.
    """

    cpu: float | None = None  # request, fractional cores
    cpu_limit: float | None = None  # hard limit, fractional cores
    memory_mib: int | None = None  # request
    memory_limit_mib: int | None = None  # hard limit
    gpu: str = ""  # "T4", "A100:2"
    timeout: float | None = None  # seconds; None: 5 minutes
    idle_timeout: float | None = None  # seconds; None: none
    workdir: str = ""
    command: tuple[str, ...] = ()  # empty: the image's own
    env: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = field(default=(), metadata={"wire": "secret_ids"})
    volumes: dict[str, str] = field(default_factory=dict)  # mount path -> volume name
    cloud_bucket_mounts: dict[str, CloudBucketMount] = field(default_factory=dict)
    pty: bool = False
    encrypted_ports: tuple[int, ...] = ()
    h2_ports: tuple[int, ...] = ()
    unencrypted_ports: tuple[int, ...] = ()
    block_network: bool = False
    cidr_allowlist: tuple[str, ...] = ()
    cloud: str = ""
    regions: tuple[str, ...] = ()
    verbose: bool = False
    proxy: str = field(default="", metadata={"wire": "proxy_id"})  # a proxy id
    name: str = ""
    custom_domain: str = ""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                object.__setattr__(self, f.name, tuple(value))
            elif isinstance(value, Mapping) and not isinstance(value, dict):
                object.__setattr__(self, f.name, dict(value))

    def keywords(self) -> dict[str, Any]:
        """These parameters as keywords of `Sandboxes.create`:
        `create(app, image, **params.keywords())` makes a sandbox with the same ones."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @staticmethod
    def wire_name(name: str) -> str:
        """The server's name of the field `name` (errors' `field` and Capabilities use it):
        'secrets' is 'secret_ids' and 'proxy' is 'proxy_id'; the others are the same."""
        return {f.name: f.metadata.get("wire", f.name) for f in fields(SandboxParams)}[name]


@dataclass
class SandboxInfo:
    """What the server knows of a sandbox, as of the call that returned it."""

    sandbox_id: str
    app_id: str
    app_name: str
    environment: str
    name: str
    image_id: str
    image_tag: str
    state: SandboxState
    exit_code: int | None
    termination_reason: TerminationReason
    tags: dict[str, str]
    created_at: float
    started_at: float
    finished_at: float
    deadline: float
    last_activity: float
    params: SandboxParams = field(repr=False, default_factory=SandboxParams)
    # The machine it runs on (the engine's host, or a cluster node); "" until it has started.
    node: str = ""


class EventKind(enum.Enum):
    EXISTING = "existing"
    SYNCED = "synced"
    CREATED = "created"
    STATE_CHANGED = "state changed"
    EXITED = "exited"
    TAGS_CHANGED = "tags changed"


@dataclass(frozen=True)
class SandboxEvent:
    kind: EventKind
    sandbox: SandboxInfo | None
    time: float


@dataclass(frozen=True)
class LogChunk:
    """A piece of a sandbox's main command output."""

    stream: str  # "stdout" or "stderr"
    data: bytes
    time: float


@dataclass(frozen=True)
class Tunnel:
    """How to reach one container port from outside the sandbox."""

    host: str
    port: int
    unencrypted_host: str = ""
    unencrypted_port: int = 0
    container_port: int = 0
    kind: str = ""  # "encrypted", "h2" or "unencrypted": the list the port was declared in

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address
        return f"https://{host}" + ("" if self.port == 443 else f":{self.port}")

    def tls_socket(self) -> tuple[str, int]:
        return self.host, self.port

    def tcp_socket(self) -> tuple[str, int]:
        """Host and port of the plain TCP socket; NoTcpSocketError unless declared unencrypted."""
        if not self.unencrypted_port:
            port = f"port {self.container_port}" if self.container_port else "this tunnel"
            declared = f" (declared in {self.kind}_ports)" if self.kind else ""
            raise NoTcpSocketError(
                f"{port}{declared} has no plain TCP socket: only unencrypted_ports get one; "
                "use tls_socket(), or declare the port in unencrypted_ports"
            )
        return self.unencrypted_host, self.unencrypted_port
