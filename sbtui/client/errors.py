"""Typed errors of the client core, mapped from the server's gRPC status codes."""

from __future__ import annotations

import grpc


class SbtuiError(Exception):
    """Base of every error sbtui.client raises.

    `field` names the request parameter the error is about (e.g. "cpu_limit"), when the server
    said which; "" otherwise.
    """

    field: str = ""


class NotFoundError(SbtuiError):
    """The app, image or sandbox named does not exist."""


class AlreadyExistsError(SbtuiError):
    """A sandbox with that name is already running in the app."""


class InvalidArgumentError(SbtuiError):
    """A parameter is wrong; the message names it."""


class FailedPreconditionError(SbtuiError):
    """The call can't be done in the current state, or the server can't honour a parameter."""


class ResourceExhaustedError(SbtuiError):
    """A limit was reached: one the server's operator set (exec sessions open at once in a
    sandbox, say), which the message names with its value, or a message too large for gRPC.
    Trying again once something has ended may succeed."""


class NoTcpSocketError(SbtuiError, ValueError):
    """Tunnel.tcp_socket() of a port that was not declared in unencrypted_ports."""


class SandboxTimeoutError(SbtuiError):
    """A sandbox reached its timeout, or something waited on did not happen in time."""

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class ExecTimeoutError(SandboxTimeoutError):
    """An exec reached its timeout and was killed."""


class AuthenticationError(SbtuiError):
    """The server wants a (valid) token."""


class PermissionDeniedError(SbtuiError):
    """The token does not allow this call."""


class ConnectionLostError(SbtuiError):
    """The server could not be reached, or went away during a call."""


class EngineUnavailableError(ConnectionLostError):
    """The server is there, but its container engine did not answer or failed."""


class ServerError(SbtuiError):
    """The server failed in a way it did not expect."""


class UnimplementedError(ServerError):
    """The server does not know this call: it is older than this client."""


_BY_CODE = {
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.OUT_OF_RANGE: InvalidArgumentError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.DEADLINE_EXCEEDED: SandboxTimeoutError,
    grpc.StatusCode.UNAUTHENTICATED: AuthenticationError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.UNAVAILABLE: ConnectionLostError,
    grpc.StatusCode.CANCELLED: ConnectionLostError,
    grpc.StatusCode.UNIMPLEMENTED: UnimplementedError,
}


def from_rpc_error(err: grpc.aio.AioRpcError) -> SbtuiError:
    cls = _BY_CODE.get(err.code(), ServerError)
    details = err.details() or err.code().name
    if cls is ConnectionLostError:
        if details.startswith(ENGINE_PREFIX):  # said by the server, about its engine
            return EngineUnavailableError(details)
        details = f"lost the connection to the sbtui server: {details}"
    error = cls(details)
    error.field = _field(err)
    return error


def _field(err: grpc.aio.AioRpcError) -> str:
    try:
        metadata = err.trailing_metadata() or ()
    except Exception:  # a call that never reached the server has none
        return ""
    return next((value for key, value in metadata if key == FIELD_KEY), "")


FIELD_KEY = "sbtui-field"  # the server's sbtui.server.errors.FIELD_KEY
ENGINE_PREFIX = "container engine: "
