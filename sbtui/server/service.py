"""The gRPC servicer: translates wire messages to SandboxManager calls and errors to status codes."""

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
from sbtui.server import execs
from sbtui.server.errors import ServiceError, invalid
from sbtui.server.events import EventBus, WatcherFellBehind
from sbtui.server.runtime.base import EngineError
from sbtui.server.sandboxes import SandboxManager, environment_of

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


def _status(err: Exception) -> tuple[grpc.StatusCode, str]:
    if isinstance(err, ServiceError):
        return err.code, err.message
    if isinstance(err, EngineError):
        return grpc.StatusCode.UNAVAILABLE, f"container engine: {err}"
    log.exception("unexpected error", exc_info=err)
    return grpc.StatusCode.INTERNAL, f"internal server error: {type(err).__name__}: {err}"


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


class SandboxService(pb_grpc.SandboxServiceServicer):
    def __init__(self, manager: SandboxManager, engine_version: str, state_dir: str) -> None:
        self.manager = manager
        self.activity = Activity()
        self._engine_version = engine_version
        self._state_dir = state_dir

    @unary
    async def GetServerInfo(self, request, context):
        return pb.ServerInfo(
            version=__version__, engine=self.manager.runtime.name,
            engine_version=self._engine_version, pid=os.getpid(), state_dir=self._state_dir,
        )

    @unary
    async def AppFromName(self, request, context):
        return self.manager.app_from_name(
            request.name, request.environment, request.create_if_missing
        ).to_pb()

    @unary
    async def AppList(self, request, context):
        environment = environment_of(request.environment)
        apps = [a.to_pb() for a in self.manager.apps.values() if a.environment == environment]
        return pb.AppListResponse(apps=sorted(apps, key=lambda a: a.name))

    @unary
    async def ImageFromRegistry(self, request, context):
        return (await self.manager.image_from_registry(request.tag)).to_pb()

    @unary
    async def ImageFromId(self, request, context):
        return (await self.manager.image_from_id(request.image_id)).to_pb()

    @unary
    async def SandboxCreate(self, request, context):
        return self.manager.info(await self.manager.create(request))

    @unary
    async def SandboxFromId(self, request, context):
        return self.manager.info(self.manager.get(request.sandbox_id))

    @unary
    async def SandboxFromName(self, request, context):
        record = self.manager.from_name(request.app_name, request.name, request.environment)
        return self.manager.info(record)

    @streaming
    async def SandboxList(self, request, context):
        if request.app_id:
            self.manager.app(request.app_id)
        records = list(
            self.manager.matching(
                request.app_id, dict(request.tags), request.environment, request.include_finished
            )
        )
        records.sort(key=lambda r: r.created_at, reverse=True)
        for record in records:
            yield self.manager.info(record)

    @unary
    async def SandboxTerminate(self, request, context):
        code = await self.manager.terminate(request.sandbox_id, request.wait)
        reply = pb.SandboxTerminateResponse()
        if code is not None:
            reply.exit_code = code
        return reply

    @unary
    async def SandboxWait(self, request, context):
        if request.timeout < 0:
            raise invalid("timeout", f"must not be negative, got {request.timeout}")
        limit = min(request.timeout or MAX_WAIT, MAX_WAIT)
        done = await self.manager.wait(request.sandbox_id, limit)
        if not done:
            return pb.SandboxWaitResponse(done=False)
        record = self.manager.get(request.sandbox_id)
        return pb.SandboxWaitResponse(
            done=True, exit_code=record.exit_code if record.exit_code is not None else -1,
            termination_reason=record.reason,
        )

    @unary
    async def SandboxPoll(self, request, context):
        record = self.manager.get(request.sandbox_id)
        reply = pb.SandboxPollResponse()
        if record.finished:
            reply.exit_code = record.exit_code if record.exit_code is not None else -1
        return reply

    @unary
    async def SandboxTunnels(self, request, context):
        record = self.manager.get(request.sandbox_id)
        if request.timeout < 0:
            raise invalid("timeout", f"must not be negative, got {request.timeout}")
        params = record.params
        if not (params.encrypted_ports or params.h2_ports or params.unencrypted_ports):
            raise ServiceError(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"sandbox {record.sandbox_id} declared no ports; give encrypted_ports, h2_ports "
                "or unencrypted_ports when creating it",
            )
        return pb.SandboxTunnelsResponse()

    @unary
    async def SandboxSnapshotFilesystem(self, request, context):
        self.manager.get(request.sandbox_id)
        raise ServiceError(
            grpc.StatusCode.FAILED_PRECONDITION,
            "snapshot_filesystem is not available on this server yet",
        )

    @unary
    async def SandboxSetTags(self, request, context):
        record = self.manager.set_tags(request.sandbox_id, dict(request.tags))
        return pb.SandboxTagsResponse(tags=record.tags)

    @unary
    async def SandboxGetTags(self, request, context):
        return pb.SandboxTagsResponse(tags=self.manager.get(request.sandbox_id).tags)

    @streaming
    async def Watch(self, request, context) -> AsyncIterator[pb.SandboxEvent]:
        manager = self.manager
        if request.app_id:
            manager.app(request.app_id)
        environment = environment_of(request.environment)

        def wanted(info: pb.SandboxInfo) -> bool:
            if request.app_id and info.app_id != request.app_id:
                return False
            return info.environment == environment

        queue = manager.events.subscribe()
        try:
            if request.initial:
                for record in manager.matching(
                    request.app_id, {}, request.environment, request.include_finished
                ):
                    yield pb.SandboxEvent(
                        kind=pb.SandboxEvent.EXISTING, sandbox=manager.info(record), time=time.time()
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
        async for reply in execs.run(self.manager, request_iterator):
            yield reply
