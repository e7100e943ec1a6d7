"""Plain data the client hands out: apps, images, sandbox descriptions, events, tunnels, tokens."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import timedelta

from sbtui.client.errors import InvalidArgumentError, NoTcpSocketError
from sbtui.proto import sandbox_pb2 as pb

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


def seconds(value: Duration | None, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be seconds (int or float) or a timedelta, not {type(value).__name__}")
    return float(value)


class SandboxState(enum.Enum):
    CREATING = pb.SANDBOX_STATE_CREATING
    RUNNING = pb.SANDBOX_STATE_RUNNING
    TERMINATING = pb.SANDBOX_STATE_TERMINATING
    FINISHED = pb.SANDBOX_STATE_FINISHED
    UNKNOWN = pb.SANDBOX_STATE_UNSPECIFIED

    def __str__(self) -> str:
        return self.name.lower()


class TerminationReason(enum.Enum):
    NONE = pb.TERMINATION_REASON_UNSPECIFIED
    EXITED = pb.TERMINATION_REASON_EXITED
    TERMINATED = pb.TERMINATION_REASON_TERMINATED
    TIMEOUT = pb.TERMINATION_REASON_TIMEOUT
    IDLE_TIMEOUT = pb.TERMINATION_REASON_IDLE_TIMEOUT
    OUT_OF_MEMORY = pb.TERMINATION_REASON_OUT_OF_MEMORY
    LOST = pb.TERMINATION_REASON_LOST
    FAILED_TO_START = pb.TERMINATION_REASON_FAILED_TO_START
    DISK_LIMIT = pb.TERMINATION_REASON_DISK_LIMIT
    ENGINE_STOPPED = pb.TERMINATION_REASON_ENGINE_STOPPED

    def __str__(self) -> str:
        return self.name.lower().replace("_", " ")


class EngineState(enum.Enum):
    OK = pb.ENGINE_STATE_OK
    RESTARTING = pb.ENGINE_STATE_RESTARTING  # the server restarts the engine service it runs
    DOWN = pb.ENGINE_STATE_DOWN  # the engine (one the server does not run) does not answer
    UNKNOWN = pb.ENGINE_STATE_UNSPECIFIED  # a server too old to say

    def __str__(self) -> str:
        return self.name.lower()


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

    @classmethod
    def from_pb(cls, info: pb.ServerInfo) -> "EngineStatus":
        status = info.engine_status
        return cls(info.engine, EngineState(status.state), status.attempt, status.last_error,
                   status.since, status.restarts, status.service_pid)

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
class Capabilities:
    """What the server can honour (Client.capabilities).

    `unsupported_create_fields` maps a create parameter, by its wire name (SandboxCreateParams:
    "gpu", "regions", "proxy_id", ...), to why this server can't honour it; a create that sets
    one is refused with that reason. A parameter not named is supported.
    """

    unsupported_create_fields: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_pb(cls, reply: pb.Capabilities) -> "Capabilities":
        return cls(dict(reply.unsupported_create_fields))

    def unsupported(self, field: str) -> str | None:
        """Why the create parameter `field` (wire name) can't be honoured; None if it can."""
        return self.unsupported_create_fields.get(field) or None


@dataclass(frozen=True)
class App:
    app_id: str
    name: str
    environment: str

    @classmethod
    def from_pb(cls, app: pb.App) -> "App":
        return cls(app.app_id, app.name, app.environment)


@dataclass(frozen=True)
class CloudBucketMount:
    bucket_name: str
    bucket_endpoint_url: str = ""
    key_prefix: str = ""
    secret: str = ""
    read_only: bool = False
    requester_pays: bool = False


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

    @classmethod
    def from_pb(cls, secret: pb.Secret) -> "Secret":
        return cls(secret.name, secret.secret_id, secret.environment, tuple(secret.keys),
                   secret.created_at)


@dataclass(frozen=True)
class Volume:
    """A named volume: data that outlives the sandboxes that mount it."""

    name: str
    volume_id: str = ""
    environment: str = ""
    created_at: float = 0.0

    @classmethod
    def from_pb(cls, volume: pb.Volume) -> "Volume":
        return cls(volume.name, volume.volume_id, volume.environment, volume.created_at)


@dataclass(frozen=True)
class Token:
    """An environment-scoped token as the server lists it: never its value."""

    token_id: str
    environment: str
    description: str = ""
    created_at: float = 0.0

    @classmethod
    def from_pb(cls, token: pb.TokenInfo) -> "Token":
        return cls(token.token_id, token.environment, token.description, token.created_at)


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
    params: pb.SandboxCreateParams = field(repr=False, default_factory=pb.SandboxCreateParams)

    @classmethod
    def from_pb(cls, info: pb.SandboxInfo) -> "SandboxInfo":
        return cls(
            sandbox_id=info.sandbox_id, app_id=info.app_id, app_name=info.app_name,
            environment=info.environment, name=info.name, image_id=info.image_id,
            image_tag=info.image_tag, state=SandboxState(info.state),
            exit_code=info.exit_code if info.HasField("exit_code") else None,
            termination_reason=TerminationReason(info.termination_reason),
            tags=dict(info.tags), created_at=info.created_at, started_at=info.started_at,
            finished_at=info.finished_at, deadline=info.deadline,
            last_activity=info.last_activity, params=info.params,
        )


class EventKind(enum.Enum):
    EXISTING = pb.SandboxEvent.EXISTING
    SYNCED = pb.SandboxEvent.SYNCED
    CREATED = pb.SandboxEvent.CREATED
    STATE_CHANGED = pb.SandboxEvent.STATE_CHANGED
    EXITED = pb.SandboxEvent.EXITED
    TAGS_CHANGED = pb.SandboxEvent.TAGS_CHANGED


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
