"""The async client core: the sandbox API over the wire, with no knowledge of the engine."""

from sbtui.client.client import Client
from sbtui.client.errors import (
    AlreadyExistsError,
    AuthenticationError,
    ConnectionLostError,
    EngineUnavailableError,
    ExecTimeoutError,
    FailedPreconditionError,
    InvalidArgumentError,
    NoTcpSocketError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    SandboxTimeoutError,
    SbtuiError,
    ServerError,
    UnimplementedError,
)
from sbtui.client.images import is_image_id
from sbtui.client.models import (
    App,
    Capabilities,
    CloudBucketMount,
    EngineState,
    EngineStatus,
    EventKind,
    Image,
    LogChunk,
    NewToken,
    Proxy,
    PullProgress,
    SandboxEvent,
    SandboxInfo,
    SandboxParams,
    SandboxState,
    Secret,
    ServerInfo,
    TerminationReason,
    Token,
    Tunnel,
    Volume,
)
from sbtui.client.process import ContainerProcess
from sbtui.client.sandbox import Sandbox

__all__ = [
    "AlreadyExistsError", "App", "AuthenticationError", "Capabilities", "Client", "CloudBucketMount",
    "ConnectionLostError", "ContainerProcess", "EngineState", "EngineStatus", "EngineUnavailableError", "EventKind", "ExecTimeoutError",
    "FailedPreconditionError", "Image", "InvalidArgumentError", "LogChunk", "NewToken", "NoTcpSocketError", "NotFoundError",
    "PermissionDeniedError", "Proxy", "PullProgress", "ResourceExhaustedError", "Sandbox", "SandboxEvent", "SandboxInfo",
    "SandboxParams", "SandboxState", "SandboxTimeoutError", "SbtuiError", "Secret", "ServerError", "ServerInfo",
    "TerminationReason", "Token", "Tunnel", "UnimplementedError", "Volume", "is_image_id",
]
