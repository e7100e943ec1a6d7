"""The gRPC servicer: translates wire messages to calls on the server's model (sandboxes.py and
its parts) and errors to status codes.

Every call runs for a caller (sbtui.server.scope): an admin sees every environment; a caller
with a scoped token names its own environment or none, and whatever belongs to another
environment is answered as if it did not exist. The rule each RPC follows is in docs/security.md.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from typing import AsyncIterator

import grpc

from sbtui import __version__
from sbtui.proto import sandbox_pb2 as pb
from sbtui.proto import sandbox_pb2_grpc as pb_grpc
from sbtui.server import execs, logs, validation
from sbtui.server.errors import ServiceError, clip
from sbtui.server.events import EventBus, WatcherFellBehind
from sbtui.server.runtime.base import EngineError
from sbtui.server.sandboxes import SandboxManager
from sbtui.server.scope import current
from sbtui.server.stream_limits import StreamLimits
from sbtui.server.tokens import Tokens
from sbtui.server.tunnels import TunnelManager

log = logging.getLogger("sbtui.server")

MAX_WAIT = 50.0  # a long poll returns at least this often, so proxies and clients see progress


class Activity:
    """Calls in flight and the time of the last one, for the embedded server's idle exit."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.last = time.monotonic()

    def begin(self) -> None:
        self.in_flight += 1
        self.last = time.monotonic()

    def end(self) -> None:
        self.in_flight -= 1
        self.last = time.monotonic()


def _status(err: Exception) -> tuple[grpc.StatusCode, str, tuple[tuple[str, str], ...]]:
    """Code, message and trailing metadata to abort a call with."""
    if isinstance(err, ServiceError):
        return err.code, err.message, err.trailing_metadata()
    if isinstance(err, EngineError):
        return grpc.StatusCode.UNAVAILABLE, clip(f"container engine: {err}"), ()
    log.exception("unexpected error", exc_info=err)
    return grpc.StatusCode.INTERNAL, clip(f"internal server error: {type(err).__name__}: {err}"), ()


def unary(method):
    @functools.wraps(method)
    async def wrapper(self, request, context):
        self.activity.begin()
        try:
            return await method(self, request, context)
        except Exception as err:
            await context.abort(*_status(err))
        finally:
            self.activity.end()

    return wrapper


def streaming(method):
    @functools.wraps(method)
    async def wrapper(self, request, context):
        self.activity.begin()
        try:
            async for reply in method(self, request, context):
                yield reply
        except Exception as err:
            await context.abort(*_status(err))
        finally:
            self.activity.end()

    return wrapper


def _environment(request) -> str:
    """The environment a request names, as the caller may use it (see Caller.environment)."""
    return current().environment(request.environment)


def _scope() -> str | None:
    """The environment the caller is confined to; None for an admin."""
    return current().scope


class SandboxService(pb_grpc.SandboxServiceServicer):
    def __init__(self, manager: SandboxManager, engine_version: str, state_dir: str, tokens: Tokens) -> None:
        self.manager = manager
        self.tokens = tokens
        self.activity = Activity()
        self._engine_version = engine_version
        self._state_dir = state_dir
        self.tunnels: TunnelManager | None = None  # set by main once its listeners can start
        self.stream_limits = StreamLimits()  # main sets the operator's

    @unary
    async def GetServerInfo(self, request, context):
        caller = current()
        info = pb.ServerInfo(
            version=__version__,
            engine=self.manager.runtime.name,
            engine_version=self._engine_version,
            environment=caller.scope or "",
        )
        if caller.admin:  # where the server runs and keeps its state is the operator's business
            info.pid, info.state_dir = os.getpid(), self._state_dir
        info.engine_status.CopyFrom(self.manager.engine_health.to_pb(caller.admin))
        return info

    @unary
    async def GetCapabilities(self, request, context):
        # Answered for every caller: what the server can honour is no secret of the operator's.
        return pb.Capabilities(unsupported_create_fields=self.manager.creator.unsupported_fields())

    @unary
    async def AppFromName(self, request, context):
        return self.manager.catalog.app_from_name(
            request.name, _environment(request), request.create_if_missing
        ).to_pb()

    @unary
    async def AppList(self, request, context):
        environment = _environment(request)
        apps = sorted(
            (a for a in self.manager.catalog.apps.values() if a.environment == environment),
            key=lambda a: a.name,
        )
        return pb.AppListResponse(apps=[a.to_pb() for a in apps])

    @unary
    async def ImageFromRegistry(self, request, context):
        return (await self.manager.images.from_registry(request.tag, _scope())).to_pb()

    @unary
    async def ImageFromId(self, request, context):
        return (await self.manager.images.from_id(request.image_id, _scope())).to_pb()

    # ---- secrets (names and key names go out, never values) and volumes ----------

    @unary
    async def SecretCreate(self, request, context):
        return self.manager.secrets.create(
            request.name, _environment(request), dict(request.values), request.overwrite
        ).to_pb()

    @unary
    async def SecretFromName(self, request, context):
        return self.manager.secrets.from_name(request.name, _environment(request)).to_pb()

    @unary
    async def SecretList(self, request, context):
        found = self.manager.secrets.list(_environment(request))
        return pb.SecretListResponse(secrets=[s.to_pb() for s in found])

    @unary
    async def SecretDelete(self, request, context):
        self.manager.secrets.delete(request.name, _environment(request))
        return pb.SecretDeleteResponse()

    @unary
    async def VolumeFromName(self, request, context):
        volumes = self.manager.volumes
        record = await volumes.from_name(request.name, _environment(request), request.create_if_missing)
        return (await volumes.messages([record]))[0]

    @unary
    async def VolumeList(self, request, context):
        volumes = self.manager.volumes
        return pb.VolumeListResponse(volumes=await volumes.messages(volumes.list(_environment(request))))

    @unary
    async def VolumeDelete(self, request, context):
        catalog = self.manager.catalog

        def live():
            for record in list(catalog.sandboxes.values()):
                if not record.finished:
                    yield record, catalog.environment(record)

        await self.manager.volumes.delete(request.name, _environment(request), live)
        return pb.VolumeDeleteResponse()

    # ---- sandboxes: calls by id answer NOT_FOUND for another environment's -------

    def _sandbox(self, sandbox_id: str):
        return self.manager.catalog.get(sandbox_id, _scope())

    @unary
    async def SandboxCreate(self, request, context):
        return self.manager.catalog.info(await self.manager.creator.create(request, _scope()))

    @unary
    async def SandboxFromId(self, request, context):
        return self.manager.catalog.info(self._sandbox(request.sandbox_id))

    @unary
    async def SandboxFromName(self, request, context):
        catalog = self.manager.catalog
        return catalog.info(catalog.from_name(request.app_name, request.name, _environment(request)))

    @streaming
    async def SandboxList(self, request, context):
        environment = _environment(request)
        catalog = self.manager.catalog
        if request.app_id:
            catalog.app(request.app_id, _scope())
        records = list(
            catalog.matching(
                request.app_id, dict(request.tags), environment, request.include_finished, request.node
            )
        )
        records.sort(key=lambda r: r.created_at, reverse=True)
        for record in records:
            yield catalog.info(record)

    @unary
    async def SandboxTerminate(self, request, context):
        self._sandbox(request.sandbox_id)
        code = await self.manager.transitions.terminate(request.sandbox_id, request.wait)
        reply = pb.SandboxTerminateResponse()
        if code is not None:
            reply.exit_code = code
        return reply

    @unary
    async def SandboxWait(self, request, context):
        validation.check_seconds("timeout", request.timeout)
        limit = min(request.timeout or MAX_WAIT, MAX_WAIT)
        self._sandbox(request.sandbox_id)
        done = await self.manager.transitions.wait(request.sandbox_id, limit)
        if not done:
            return pb.SandboxWaitResponse(done=False)
        record = self.manager.catalog.get(request.sandbox_id)
        return pb.SandboxWaitResponse(
            done=True,
            exit_code=record.exit_code if record.exit_code is not None else -1,
            termination_reason=record.reason,
        )

    @unary
    async def SandboxPoll(self, request, context):
        record = self._sandbox(request.sandbox_id)
        reply = pb.SandboxPollResponse()
        if record.finished:
            reply.exit_code = record.exit_code if record.exit_code is not None else -1
        return reply

    @unary
    async def SandboxTunnels(self, request, context):
        self._sandbox(request.sandbox_id)
        tunnels = await self._tunnels().tunnels(request.sandbox_id, request.timeout)
        return pb.SandboxTunnelsResponse(tunnels=tunnels)

    @unary
    async def GetCaCertificate(self, request, context):
        return pb.CaCertificate(pem=self._tunnels().ca.pem)

    def _tunnels(self) -> TunnelManager:
        if self.tunnels is None:
            raise ServiceError(grpc.StatusCode.UNAVAILABLE, "tunnels are not set up on this server yet")
        return self.tunnels

    @unary
    async def SandboxSnapshotFilesystem(self, request, context):
        snapshot = await self.manager.images.snapshot(request.sandbox_id, request.timeout, _scope())
        return snapshot.to_pb()

    @streaming
    async def ImagePull(self, request, context):
        async for event in self.manager.images.pull(request.tag, _scope()):
            yield event

    @unary
    async def ImageList(self, request, context):
        found = self.manager.images.listing(request.snapshots_only, _scope())
        return pb.ImageListResponse(images=found)

    @streaming
    async def SandboxLogs(self, request, context):
        record = self._sandbox(request.sandbox_id)
        environment = self.manager.catalog.environment(record)
        with (
            self.stream_limits.hold("log read", environment, record.sandbox_id),
            self.manager.output_readers.reading(record.sandbox_id),
        ):
            await self.manager.transitions.output_kept(record.sandbox_id)
            async for chunk in logs.stream(
                self.manager.runtime,
                self.manager.kept_output,
                record,
                request.follow,
                request.tail_lines,
                self.manager.limits.log_bytes,
            ):
                yield chunk

    @unary
    async def SandboxSetTags(self, request, context):
        self._sandbox(request.sandbox_id)
        record = self.manager.catalog.set_tags(request.sandbox_id, dict(request.tags))
        return pb.SandboxTagsResponse(tags=record.tags)

    @unary
    async def SandboxGetTags(self, request, context):
        return pb.SandboxTagsResponse(tags=self._sandbox(request.sandbox_id).tags)

    @streaming
    async def Watch(self, request, context) -> AsyncIterator[pb.SandboxEvent]:
        manager, catalog = self.manager, self.manager.catalog
        environment = _environment(request)
        if request.app_id:
            catalog.app(request.app_id, _scope())

        def wanted(info: pb.SandboxInfo) -> bool:
            if request.app_id and info.app_id != request.app_id:
                return False
            return info.environment == environment

        with self.stream_limits.hold("watch", environment):
            queue = manager.events.subscribe()
            try:
                if request.initial:
                    for record in catalog.matching(request.app_id, {}, environment, request.include_finished):
                        yield pb.SandboxEvent(
                            kind=pb.SandboxEvent.EXISTING, sandbox=catalog.info(record), time=time.time()
                        )
                    yield pb.SandboxEvent(kind=pb.SandboxEvent.SYNCED, time=time.time())
                while True:
                    try:
                        event = await EventBus.next(queue)
                    except WatcherFellBehind:
                        raise ServiceError(
                            grpc.StatusCode.RESOURCE_EXHAUSTED,
                            "this watcher fell too far behind the event stream; watch again",
                        ) from None
                    if wanted(event.sandbox):
                        yield event
            finally:
                manager.events.unsubscribe(queue)

    @streaming
    async def Exec(self, request_iterator, context) -> AsyncIterator[pb.ExecResponse]:
        async for reply in execs.run(self.manager, request_iterator, _scope(), self.stream_limits):
            yield reply

    # ---- scoped tokens: the operator's, so admin callers only ----------------------

    @unary
    async def TokenCreate(self, request, context):
        current().require_admin("creating tokens")
        record, value = self.tokens.create(request.environment, request.description)
        return pb.TokenCreateResponse(token=record.to_pb(), value=value)

    @unary
    async def TokenList(self, request, context):
        current().require_admin("listing tokens")
        return pb.TokenListResponse(tokens=[t.to_pb() for t in self.tokens.list(request.environment)])

    @unary
    async def TokenRevoke(self, request, context):
        current().require_admin("revoking tokens")
        self.tokens.revoke(request.token_id)
        return pb.TokenRevokeResponse()
