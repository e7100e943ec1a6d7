"""Plain data the client hands out: apps, images, sandbox descriptions, events, tunnels."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import timedelta

from sbtui.proto import sandbox_pb2 as pb

Duration = float | int | timedelta


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

    def __str__(self) -> str:
        return self.name.lower().replace("_", " ")


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
    """A named secret; its values stay on the server."""

    name: str


@dataclass(frozen=True)
class Volume:
    name: str


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
class Tunnel:
    """How to reach one container port from outside the sandbox."""

    host: str
    port: int
    unencrypted_host: str = ""
    unencrypted_port: int = 0

    @property
    def url(self) -> str:
        return f"https://{self.host}" + ("" if self.port == 443 else f":{self.port}")

    def tls_socket(self) -> tuple[str, int]:
        return self.host, self.port

    def tcp_socket(self) -> tuple[str, int]:
        if not self.unencrypted_port:
            raise ValueError(
                "this tunnel has no plain TCP socket: declare the port in unencrypted_ports"
            )
        return self.unencrypted_host, self.unencrypted_port
