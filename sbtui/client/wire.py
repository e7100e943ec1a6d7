"""Where the client's values meet the wire: the server's protobuf messages become the plain types
of sbtui.client.models, and SandboxParams becomes its message. No other part of the client reads
a reply's fields or builds a value message; the call modules build request envelopes from plain
arguments and hand what comes back to the functions here.
"""

from __future__ import annotations

import enum
from dataclasses import fields
from typing import TypeVar

from sbtui.client.models import (
    App,
    Capabilities,
    CloudBucketMount,
    EngineState,
    EngineStatus,
    EventKind,
    Image,
    LogChunk,
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
from sbtui.proto import sandbox_pb2 as pb

E = TypeVar("E", bound=enum.Enum)


def _members(ours: type[E], wire_enum, prefix: str, unspecified: E | None) -> dict[int, E]:
    """Wire number -> our member, matched by name (SANDBOX_STATE_RUNNING -> RUNNING); the wire's
    UNSPECIFIED is `unspecified`. A wire name we lack fails at import, not on some reply."""
    table: dict[int, E] = {}
    for name, number in wire_enum.items():
        if name.endswith("UNSPECIFIED"):
            if unspecified is not None:
                table[number] = unspecified
        else:
            table[number] = ours[name.removeprefix(prefix)]
    return table


_STATES = _members(SandboxState, pb.SandboxState, "SANDBOX_STATE_", SandboxState.UNKNOWN)
_REASONS = _members(TerminationReason, pb.TerminationReason, "TERMINATION_REASON_", TerminationReason.NONE)
_ENGINE_STATES = _members(EngineState, pb.EngineState, "ENGINE_STATE_", EngineState.UNKNOWN)
_EVENT_KINDS = _members(EventKind, pb.SandboxEvent.Kind, "", None)
_WIRE_NAMES = {f.name: SandboxParams.wire_name(f.name) for f in fields(SandboxParams)}


def termination_reason(number: int) -> TerminationReason:
    return _REASONS[number]


def exit_code(reply) -> int | None:
    """The exit code of a reply that has one once the sandbox has exited; None before."""
    return reply.exit_code if reply.HasField("exit_code") else None


# ---- sandboxes -----------------------------------------------------------------------------


def _bucket_message(mount: CloudBucketMount) -> pb.CloudBucketMount:
    return pb.CloudBucketMount(
        bucket_name=mount.bucket_name,
        bucket_endpoint_url=mount.bucket_endpoint_url,
        key_prefix=mount.key_prefix,
        secret_id=mount.secret,
        read_only=mount.read_only,
        requester_pays=mount.requester_pays,
    )


def _bucket(message: pb.CloudBucketMount) -> CloudBucketMount:
    return CloudBucketMount(
        bucket_name=message.bucket_name,
        bucket_endpoint_url=message.bucket_endpoint_url,
        key_prefix=message.key_prefix,
        secret=message.secret_id,
        read_only=message.read_only,
        requester_pays=message.requester_pays,
    )


def params_message(params: SandboxParams) -> pb.SandboxCreateParams:
    """The create parameters as sent; a None field is left unset (the server's default)."""
    message = pb.SandboxCreateParams()
    for f in fields(SandboxParams):
        value, name = getattr(params, f.name), _WIRE_NAMES[f.name]
        if f.name == "cloud_bucket_mounts":
            for path, mount in value.items():
                message.cloud_bucket_mounts[path].CopyFrom(_bucket_message(mount))
        elif isinstance(value, dict):
            getattr(message, name).update(value)
        elif isinstance(value, tuple):
            getattr(message, name).extend(value)
        elif value is not None:
            setattr(message, name, value)
    return message


def sandbox_params(message: pb.SandboxCreateParams) -> SandboxParams:
    values = {}
    for f in fields(SandboxParams):
        name = _WIRE_NAMES[f.name]
        value = getattr(message, name)
        if f.name == "cloud_bucket_mounts":
            value = {path: _bucket(mount) for path, mount in value.items()}
        elif f.default is None:  # optional on the wire: unset and 0 differ
            value = value if message.HasField(name) else None
        elif hasattr(value, "items"):  # a map
            value = dict(value)
        elif not isinstance(value, (str, bool, int, float)):  # a repeated field
            value = tuple(value)
        values[f.name] = value
    return SandboxParams(**values)


def sandbox_info(message: pb.SandboxInfo) -> SandboxInfo:
    return SandboxInfo(
        sandbox_id=message.sandbox_id,
        app_id=message.app_id,
        app_name=message.app_name,
        environment=message.environment,
        name=message.name,
        image_id=message.image_id,
        image_tag=message.image_tag,
        state=_STATES[message.state],
        exit_code=exit_code(message),
        termination_reason=_REASONS[message.termination_reason],
        tags=dict(message.tags),
        created_at=message.created_at,
        started_at=message.started_at,
        finished_at=message.finished_at,
        deadline=message.deadline,
        last_activity=message.last_activity,
        params=sandbox_params(message.params),
        node=message.node,
    )


def sandbox_event(message: pb.SandboxEvent) -> SandboxEvent:
    return SandboxEvent(
        kind=_EVENT_KINDS[message.kind],
        sandbox=sandbox_info(message.sandbox) if message.HasField("sandbox") else None,
        time=message.time,
    )


def log_chunk(message: pb.LogChunk) -> LogChunk:
    kind = message.WhichOneof("kind")
    return LogChunk(kind or "stdout", getattr(message, kind) if kind else b"", message.time)


def tunnels(reply: pb.SandboxTunnelsResponse) -> dict[int, Tunnel]:
    """The tunnels keyed by container port."""
    return {
        t.container_port: Tunnel(
            t.host, t.port, t.unencrypted_host, t.unencrypted_port, t.container_port, t.kind
        )
        for t in reply.tunnels
    }


# ---- images --------------------------------------------------------------------------------


def image(message: pb.Image) -> Image:
    made = Image(message.tag, message.image_id)
    made.created_at, made.size_bytes = message.created_at, message.size_bytes
    made.source_sandbox_id = message.source_sandbox_id
    return made


def pull_progress(message: pb.ImagePullEvent) -> PullProgress:
    return PullProgress(
        status=message.status,
        layer=message.layer,
        current=message.current,
        total=message.total,
        image=image(message.image) if message.HasField("image") else None,
    )


# ---- the rest ------------------------------------------------------------------------------


def app(message: pb.App) -> App:
    return App(message.app_id, message.name, message.environment)


def secret(message: pb.Secret) -> Secret:
    return Secret(
        message.name, message.secret_id, message.environment, tuple(message.keys), message.created_at
    )


def volume(message: pb.Volume) -> Volume:
    return Volume(message.name, message.volume_id, message.environment, message.created_at, message.node)


def token(message: pb.TokenInfo) -> Token:
    return Token(message.token_id, message.environment, message.description, message.created_at)


def server_info(message: pb.ServerInfo) -> ServerInfo:
    status = message.engine_status
    engine = EngineStatus(
        message.engine,
        _ENGINE_STATES[status.state],
        status.attempt,
        status.last_error,
        status.since,
        status.restarts,
        status.service_pid,
    )
    return ServerInfo(
        version=message.version,
        engine=message.engine,
        engine_version=message.engine_version,
        engine_status=engine,
        pid=message.pid,
        state_dir=message.state_dir,
        environment=message.environment,
    )


def capabilities(message: pb.Capabilities) -> Capabilities:
    return Capabilities(dict(message.unsupported_create_fields))
