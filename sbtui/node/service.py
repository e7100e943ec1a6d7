"""The NodeAgent service (node.proto): every call checks that the server makes it (auth.py),
then runs on a DockerRuntime of the node's engine, as the server would run it locally; a
failure ends the call with the status node_errors.py gives, which the server's client turns
back into the same error. A request that breaks the protocol gets INVALID_ARGUMENT."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import AsyncIterator

import grpc

from sbtui import __version__
from sbtui.node import dial, exec_stream
from sbtui.node.auth import require_server
from sbtui.proto import node_pb2 as pb
from sbtui.proto import node_pb2_grpc as pb_grpc
from sbtui.server import disk
from sbtui.server.runtime import host_processes
from sbtui.server.runtime.base import EngineError
from sbtui.server.runtime.docker import DockerRuntime
from sbtui.server.runtime.node_errors import to_status

log = logging.getLogger("sbtui.node")

# A repository whose first part is a host (a dot in its name, or a port) names a registry:
# `HOST:PORT/sbtui/snap-x` is pushed there; sbtui's own `localhost/sbtui/...` stays local.
_REGISTRY_REPO = re.compile(r"[^/]*[.:][^/]*/.+")


def names_registry(repo: str) -> bool:
    return bool(_REGISTRY_REPO.fullmatch(repo))


async def _abort(context: grpc.aio.ServicerContext, err: Exception, call: str) -> None:
    if isinstance(err, ValueError) and not isinstance(err, OSError):
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{call}: {err}")
    code, message, metadata = to_status(err)
    log.info("%s failed: %s", call, message)
    await context.abort(code, message, metadata)


class NodeAgentService(pb_grpc.NodeAgentServicer):
    def __init__(self, runtime: DockerRuntime, node_name: str) -> None:
        self.runtime = runtime
        self.node_name = node_name

    async def Info(self, request, context):
        await require_server(context)
        try:
            version = await self.runtime.version()
        except EngineError as err:
            await _abort(context, err, "Info")
        return pb.NodeInfo(
            node_name=self.node_name,
            engine=self.runtime.name,
            engine_version=version,
            agent_version=__version__,
            engine_started_at=host_processes.started_at(host_processes.serving(self.runtime.url)),
        )

    async def Exec(self, request_iterator, context) -> AsyncIterator[pb.ExecOutput]:
        await require_server(context)
        try:
            async for reply in exec_stream.run(self.runtime, request_iterator):
                yield reply
        except (EngineError, ValueError) as err:
            await _abort(context, err, "Exec")

    async def KillExecs(self, request, context):
        await require_server(context)
        try:
            await self.runtime.kill_execs(list(request.container_ids))
        except EngineError as err:
            await _abort(context, err, "KillExecs")
        return pb.KillExecsResponse()

    async def Kill(self, request, context):
        await require_server(context)
        try:
            await self.runtime.kill(request.container_id)
        except EngineError as err:
            await _abort(context, err, "Kill")
        return pb.KillResponse()

    async def SetRequests(self, request, context):
        await require_server(context)
        try:
            await self.runtime.set_requests(
                request.container_id, request.cpu_shares, request.memory_reservation
            )
        except EngineError as err:
            await _abort(context, err, "SetRequests")
        return pb.SetRequestsResponse()

    async def OpenGate(self, request, context):
        await require_server(context)
        try:
            allowlist = list(request.cidr_allowlist) if request.fenced else None
            await self.runtime.open_gate(request.container_id, allowlist)
        except EngineError as err:
            await _abort(context, err, "OpenGate")
        return pb.OpenGateResponse()

    async def Logs(self, request, context) -> AsyncIterator[pb.OutputChunk]:
        await require_server(context)
        if not request.container_id:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Logs: no container id")
        try:
            async for fd, data in self.runtime.logs(
                request.container_id, request.follow, request.tty, request.tail
            ):
                yield pb.OutputChunk(fd=fd, data=data)
        except EngineError as err:
            await _abort(context, err, "Logs")

    async def LastOutput(self, request, context):
        await require_server(context)
        try:
            chunks = await self.runtime.last_output(request.container_id, request.tty, request.size)
        except EngineError as err:
            await _abort(context, err, "LastOutput")
        return pb.LastOutputResponse(chunks=[pb.OutputChunk(fd=fd, data=data) for fd, data in chunks])

    async def Dial(self, request_iterator, context) -> AsyncIterator[pb.DialOutput]:
        await require_server(context)
        try:
            async for reply in dial.run(self.runtime, request_iterator, self.node_name):
                yield reply
        except (EngineError, OSError, ValueError) as err:
            await _abort(context, err, "Dial")

    async def Commit(self, request, context):
        await require_server(context)
        env = list(request.env) if request.set_env else None
        pushed = names_registry(request.repo)
        try:
            image_id = await self.runtime.commit(
                request.container_id, request.repo, request.tag, dict(request.labels), env
            )
            if pushed:
                await self.runtime.push(f"{request.repo}:{request.tag}")
        except EngineError as err:
            await _abort(context, err, "Commit")
        return pb.CommitResponse(image_id=image_id, pushed=pushed)

    async def CreateVolume(self, request, context):
        await require_server(context)
        if not request.name:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "CreateVolume: no volume name")
        try:
            await self.runtime.create_volume(request.name, dict(request.labels))
        except EngineError as err:
            await _abort(context, err, "CreateVolume")
        return pb.CreateVolumeResponse()

    async def ListVolumes(self, request, context):
        await require_server(context)
        if not request.label:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "ListVolumes: no label to list by")
        try:
            names = await self.runtime.volumes(request.label)
        except EngineError as err:
            await _abort(context, err, "ListVolumes")
        return pb.ListVolumesResponse(names=names)

    async def RemoveVolume(self, request, context):
        await require_server(context)
        if not request.name:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "RemoveVolume: no volume name")
        try:
            await self.runtime.remove_volume(request.name)
        except EngineError as err:
            await _abort(context, err, "RemoveVolume")
        return pb.RemoveVolumeResponse()

    async def DiskUse(self, request, context):
        await require_server(context)
        try:
            used = await self.runtime.disk_used(request.container_id)
        except disk.TooDeep as err:
            return pb.DiskUseResponse(too_deep=str(err))
        except (EngineError, OSError) as err:
            await _abort(context, err, "DiskUse")
        return pb.DiskUseResponse(gone=used is None, bytes=used or 0)

    async def Events(self, request, context) -> AsyncIterator[pb.ContainerEvent]:
        await require_server(context)
        if not request.label:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Events: no label to follow")
        # The engine's subscription is read beside the replies, so that `subscribed` goes
        # out as soon as the engine accepts it, before any event.
        queue: asyncio.Queue[pb.ContainerEvent | EngineError | None] = asyncio.Queue()

        async def follow() -> None:
            try:
                subscribed = lambda: queue.put_nowait(pb.ContainerEvent(subscribed=True))  # noqa: E731
                async for kind, container_id, labels in self.runtime.events(request.label, subscribed):
                    queue.put_nowait(pb.ContainerEvent(kind=kind, container_id=container_id, labels=labels))
                queue.put_nowait(None)
            except EngineError as err:
                queue.put_nowait(err)

        task = asyncio.create_task(follow())
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, EngineError):
                    await _abort(context, item, "Events")
                else:
                    yield item
        finally:
            task.cancel()
