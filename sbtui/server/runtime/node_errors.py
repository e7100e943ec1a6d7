"""Engine errors across the node agent's wire, both ways: the agent ends a failed call with a
gRPC status and names the error's kind and HTTP status in trailing metadata; the server's
client (node_client.py) raises the same kind again, message kept, so the server's code sees
what a local runtime would have raised.

Connecting to a container's port is not the engine's business: its failures travel as the
OSError they were (ConnectionRefusedError for a refused one), as asyncio.open_connection
raises them, so the tunnel code treats a port on a node like a local one.
"""

from __future__ import annotations

import errno

import grpc

from sbtui.server.runtime.base import (
    BadImageReference,
    EngineError,
    EngineInUse,
    EngineNotFound,
    EngineUnavailable,
    GpuUnavailable,
    RegistryUnreachable,
)

KIND_KEY = "sbtui-engine-error"
STATUS_KEY = "sbtui-engine-status"
ERRNO_KEY = "sbtui-errno"
CONNECT_FAILED = "OSError"  # the kind of a failed connection to a container's port

# Most specific first: the first class an error is an instance of names its kind.
_KINDS: dict[str, tuple[type[EngineError], grpc.StatusCode]] = {
    "EngineNotFound": (EngineNotFound, grpc.StatusCode.NOT_FOUND),
    "EngineUnavailable": (EngineUnavailable, grpc.StatusCode.UNAVAILABLE),
    "EngineInUse": (EngineInUse, grpc.StatusCode.FAILED_PRECONDITION),
    "BadImageReference": (BadImageReference, grpc.StatusCode.INVALID_ARGUMENT),
    "RegistryUnreachable": (RegistryUnreachable, grpc.StatusCode.UNAVAILABLE),
    "GpuUnavailable": (GpuUnavailable, grpc.StatusCode.FAILED_PRECONDITION),
    "EngineError": (EngineError, grpc.StatusCode.INTERNAL),
}
# gRPC refuses trailers past 8 KiB; engine messages quote what they were given.
MAX_MESSAGE = 2000


class NodeError(EngineError):
    """The node agent could not be asked: the server names the node and its address."""


class NodeUnreachable(NodeError):
    """No agent answers at the node's address, or the TLS handshake with it failed (an agent
    whose certificate is not the node's, or that refuses the server's certificate)."""


class NodeRefused(NodeError):
    """The agent answered but refused the server (its certificate is not the server's)."""


def _clip(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 20] + "… (cut)"


def to_status(err: Exception) -> tuple[grpc.StatusCode, str, tuple[tuple[str, str], ...]]:
    """(code, message, trailing metadata) for an error the agent's work raised."""
    if isinstance(err, OSError):
        number = err.errno or errno.EIO
        metadata = ((KIND_KEY, CONNECT_FAILED), (ERRNO_KEY, str(number)))
        return grpc.StatusCode.UNAVAILABLE, _clip(err.strerror or str(err)), metadata
    for kind, (cls, code) in _KINDS.items():
        if isinstance(err, cls):
            status = getattr(err, "status", 0) or 0
            return code, _clip(str(err)), ((KIND_KEY, kind), (STATUS_KEY, str(status)))
    raise TypeError(f"not an engine error: {err!r}")


def from_status(err: grpc.aio.AioRpcError, node: str, address: str) -> Exception:
    """The error to raise for a failed call to the agent of `node` at `address`."""
    metadata = {key: value for key, value in (err.trailing_metadata() or ()) if isinstance(value, str)}
    message = err.details() or err.code().name
    kind = metadata.get(KIND_KEY)
    if kind == CONNECT_FAILED:
        number = int(metadata.get(ERRNO_KEY) or errno.EIO)
        cls = ConnectionRefusedError if number == errno.ECONNREFUSED else OSError
        return cls(number, f"node {node}: {message}")
    if kind in _KINDS:
        status = metadata.get(STATUS_KEY, "0")
        return _KINDS[kind][0](message, int(status) if status.isdigit() else 0)
    code = err.code()
    if code == grpc.StatusCode.UNAVAILABLE:
        return NodeUnreachable(f"the agent of node {node} at {address} can't be reached: {message}")
    if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
        return NodeRefused(f"the agent of node {node} at {address} refused the server: {message}")
    if code == grpc.StatusCode.CANCELLED:
        return NodeError(f"the call to the agent of node {node} at {address} was cancelled: {message}")
    return NodeError(f"the agent of node {node} at {address} failed the call: {message}")
