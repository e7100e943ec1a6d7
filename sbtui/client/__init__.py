"""The async client core: the sandbox API over the wire, with no knowledge of the engine."""

from sbtui.client.client import Client
from sbtui.client.errors import (
    AlreadyExistsError,
    AuthenticationError,
    ConnectionLostError,
    ExecTimeoutError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    SandboxTimeoutError,
    SbtuiError,
    ServerError,
)
from sbtui.client.images import Image
from sbtui.client.models import (
    App,
    CloudBucketMount,
    EventKind,
    Proxy,
    SandboxEvent,
    SandboxInfo,
    SandboxState,
    Secret,
    TerminationReason,
    Tunnel,
    Volume,
)
from sbtui.client.process import ContainerProcess
from sbtui.client.sandbox import Sandbox

__all__ = [
    "AlreadyExistsError", "App", "AuthenticationError", "Client", "CloudBucketMount",
    "ConnectionLostError", "ContainerProcess", "EventKind", "ExecTimeoutError",
    "FailedPreconditionError", "Image", "InvalidArgumentError", "NotFoundError",
    "PermissionDeniedError", "Proxy", "Sandbox", "SandboxEvent", "SandboxInfo", "SandboxState",
    "SandboxTimeoutError", "SbtuiError", "Secret", "ServerError", "TerminationReason", "Tunnel",
    "Volume",
]
