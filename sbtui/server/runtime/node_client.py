"""The server's side of a node agent (`sbtui node`, sbtui/node/): what must run on the machine
holding a container, asked over gRPC with mutual TLS (node.proto).

    client = NodeAgentClient("10.0.0.2:7443", "worker-1", cluster_ca.server_credentials())
    info = await client.info()                           # NodeInfo(node_name, engine, ...)
    session = await client.exec(container_id, ExecSpec(["sh"], tty=True))  # a base.ExecSession
    await client.kill_execs([container_id])
    async for fd, data in client.logs(container_id, follow=True, tty=False, tail=0): ...
    chunks = await client.last_output(container_id, tty=False, size=4096)
    reader, writer = await client.dial(container_id, 8000)  # for tunnels.py to splice
    image_id = await client.commit(container_id, "HOST:PORT/sbtui/snap-x", "latest", labels, env)
    async for kind, container_id, labels in client.events(label, connected): ...  # "new"/"exit"
    await client.create_volume(name, labels); await client.volumes(label); await client.remove_volume(name)
    await client.close()

Each call behaves as the same call of DockerRuntime on the node's engine, errors included
(node_errors.py): EngineNotFound for a container that is not there, and so on. An agent that
can't be reached raises NodeUnreachable, naming the node and its address; one that refuses the
server's certificate, NodeRefused. A refused or failed connection of dial() raises
ConnectionRefusedError / OSError, as asyncio.open_connection would.

Trust: the agent's certificate must be signed by the cluster CA and name `node_name` (checked
as the TLS host name, whatever address is dialled); the server presents its own client
certificate (cluster_ca.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import AsyncIterator, Callable

import grpc

from sbtui import keepalive
from sbtui.proto import node_pb2 as pb
from sbtui.proto import node_pb2_grpc as pb_grpc
from sbtui.server import disk
from sbtui.server.cluster_ca import Credentials
from sbtui.server.runtime.base import EngineError, ExecSpec
from sbtui.server.runtime.node_errors import NodeError, NodeUnreachable, from_status

__all__ = ["NodeAgentClient", "NodeInfo", "NodeExec", "DialReader", "DialWriter", "NodeUnreachable"]

MAX_MESSAGE = 64 << 20  # a log chunk or a last_output; gRPC's default (4 MiB) is too small for some
CLOSE_WAIT = 5.0  # seconds a closed session or connection waits for the agent to end it
EXEC_QUEUE = 16  # messages of an exec waiting to be read, before the agent is held back
DIAL_QUEUE = 16  # chunks of a dialled connection waiting to be read, before the agent is held back


@dataclass(frozen=True)
class NodeInfo:
    node_name: str
    engine: str  # "docker" or "podman"
    engine_version: str
    agent_version: str
    engine_started_at: float = 0.0  # when its engine process started; 0 unknown


def closed_under(node: str) -> EngineError | None:
    """For a CancelledError out of a call's read: the error to raise instead when it was the
    call that was cancelled (the client closed, its node given up), not the task reading it
    (which must go on being cancelled: None)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        return None
    return NodeUnreachable(f"the connection to the agent of node {node} was closed: the node was given up")


RECONNECT_WAIT = 2.0  # seconds a call waits for a channel reconnecting to its agent


class NodeAgentClient:
    def __init__(self, address: str, node_name: str, certs: Credentials) -> None:
        """`address`: HOST:PORT of the agent; `node_name`: the name its certificate must bear."""
        self.address = address
        self.node_name = node_name
        credentials = grpc.ssl_channel_credentials(
            root_certificates=certs.ca_pem, private_key=certs.key_pem, certificate_chain=certs.cert_pem
        )
        options = [
            *keepalive.CLIENT_OPTIONS,
            # The certificate is checked for the node's name, not for the address dialled.
            ("grpc.ssl_target_name_override", node_name),
            ("grpc.max_receive_message_length", MAX_MESSAGE),
            # An agent back from a restart is dialled again within RECONNECT_WAIT, not after
            # gRPC's default backoff, which grows to two minutes over a long outage.
            ("grpc.initial_reconnect_backoff_ms", 250),
            ("grpc.min_reconnect_backoff_ms", 250),
            ("grpc.max_reconnect_backoff_ms", int(RECONNECT_WAIT * 1000)),
        ]
        self._channel = grpc.aio.secure_channel(address, credentials, options=options)
        self._stub = pb_grpc.NodeAgentStub(self._channel)

    def error(self, err: grpc.aio.AioRpcError) -> Exception:
        """The exception to raise for a failed call (node_errors.from_status)."""
        return from_status(err, self.node_name, self.address)

    async def _ready(self) -> None:
        """Wait up to RECONNECT_WAIT for a channel that lost its agent to have it again: a
        call made on it meanwhile would fail at once, though the agent is back (restarted).
        When it is not, the call that follows fails with the channel's own error."""
        if self._channel.get_state(try_to_connect=True) == grpc.ChannelConnectivity.READY:
            return
        try:
            await asyncio.wait_for(self._channel.channel_ready(), RECONNECT_WAIT)
        except asyncio.TimeoutError:
            pass

    async def _unary(self, method: str, request):
        await self._ready()
        try:
            return await getattr(self._stub, method)(request)
        except grpc.aio.AioRpcError as err:
            raise self.error(err) from None

    async def info(self) -> NodeInfo:
        reply = await self._unary("Info", pb.InfoRequest())
        return NodeInfo(
            reply.node_name, reply.engine, reply.engine_version, reply.agent_version, reply.engine_started_at
        )

    async def exec(self, container_id: str, spec: ExecSpec) -> NodeExec:
        await self._ready()
        call = self._stub.Exec()
        start = pb.ExecStart(
            container_id=container_id,
            command=spec.command,
            env=spec.env,
            workdir=spec.workdir,
            tty=spec.tty,
            stdin=spec.stdin,
            stdout=spec.stdout,
            stderr=spec.stderr,
            rows=spec.rows,
            cols=spec.cols,
        )
        first = await self._opened(call, pb.ExecInput(start=start), "started", "start the command")
        return NodeExec(self, call, first.started)

    async def _opened(self, call, opening, answer: str, what: str):
        """Send the first message of a stream and read the agent's first answer, of kind
        `answer`; the call is cancelled when that fails."""
        try:
            await call.write(opening)
            first = await call.read()
        except grpc.aio.AioRpcError as err:
            raise self.error(err) from None
        except BaseException:
            call.cancel()
            raise
        if first is grpc.aio.EOF or first.WhichOneof("kind") != answer:
            call.cancel()
            raise NodeError(f"the agent of node {self.node_name} did not {what}")
        return first

    async def kill_execs(self, container_ids: list[str]) -> None:
        await self._unary("KillExecs", pb.KillExecsRequest(container_ids=container_ids))

    async def kill(self, container_id: str) -> None:
        await self._unary("Kill", pb.KillRequest(container_id=container_id))

    async def set_requests(self, container_id: str, cpu_shares: int, memory_reservation: int) -> None:
        request = pb.SetRequestsRequest(
            container_id=container_id, cpu_shares=cpu_shares, memory_reservation=memory_reservation
        )
        await self._unary("SetRequests", request)

    async def open_gate(self, container_id: str, allowlist: list[str] | None) -> None:
        request = pb.OpenGateRequest(
            container_id=container_id, cidr_allowlist=allowlist or [], fenced=allowlist is not None
        )
        await self._unary("OpenGate", request)

    async def logs(
        self, container_id: str, follow: bool, tty: bool, tail: int = 0
    ) -> AsyncIterator[tuple[int, bytes]]:
        await self._ready()
        call = self._stub.Logs(
            pb.LogsRequest(container_id=container_id, follow=follow, tty=tty, tail=max(tail, 0))
        )
        try:
            async for chunk in call:
                yield chunk.fd, chunk.data
        except grpc.aio.AioRpcError as err:
            raise self.error(err) from None
        except asyncio.CancelledError:
            raise closed_under(self.node_name) or asyncio.CancelledError() from None
        finally:
            call.cancel()

    async def last_output(self, container_id: str, tty: bool, size: int) -> list[tuple[int, bytes]]:
        reply = await self._unary(
            "LastOutput", pb.LastOutputRequest(container_id=container_id, tty=tty, size=max(size, 0))
        )
        return [(chunk.fd, chunk.data) for chunk in reply.chunks]

    async def dial(self, container_id: str, port: int) -> tuple[DialReader, DialWriter]:
        """A connection to `port` of the container: (reader, writer) with the parts of
        asyncio's StreamReader and StreamWriter that a splice uses, half-close included."""
        await self._ready()
        call = self._stub.Dial()
        opening = pb.DialInput(open=pb.DialOpen(container_id=container_id, port=port))
        first = await self._opened(call, opening, "connected", f"connect to port {port}")
        reader = DialReader()
        writer = DialWriter(call, reader, first.connected, self.node_name)
        reader.start(call, self.node_name)
        return reader, writer

    async def commit(
        self, container_id: str, repo: str, tag: str, labels: dict[str, str], env: list[str] | None = None
    ) -> str:
        """Commit the container to repo:tag (see Runtime.commit); when `repo` names a registry
        (HOST:PORT/... or a dotted host name), the agent pushes repo:tag there, for the other
        nodes to pull. Returns the engine's image id."""
        request = pb.CommitRequest(
            container_id=container_id,
            repo=repo,
            tag=tag,
            labels=labels,
            set_env=env is not None,
            env=env or [],
        )
        reply = await self._unary("Commit", request)
        return reply.image_id

    async def create_volume(self, name: str, labels: dict[str, str]) -> None:
        await self._unary("CreateVolume", pb.CreateVolumeRequest(name=name, labels=labels))

    async def volumes(self, label: str) -> list[str]:
        """The names of the node's volumes carrying `label` ("key" or "key=value")."""
        reply = await self._unary("ListVolumes", pb.ListVolumesRequest(label=label))
        return list(reply.names)

    async def remove_volume(self, name: str) -> None:
        """EngineInUse while a container of the node uses it; nothing if it is gone."""
        await self._unary("RemoveVolume", pb.RemoveVolumeRequest(name=name))

    async def disk_use(self, container_id: str) -> int | None:
        """What the container writes, measured on the node (Runtime.disk_used)."""
        reply = await self._unary("DiskUse", pb.DiskUseRequest(container_id=container_id))
        if reply.too_deep:
            raise disk.TooDeep(reply.too_deep)
        return None if reply.gone else reply.bytes

    async def events(
        self, label: str, connected: Callable[[], None] | None = None
    ) -> AsyncIterator[tuple[str, str, dict[str, str]]]:
        """("new" | "exit", container id, labels) of the node's containers carrying `label`;
        `connected` is called once the node's engine accepted the subscription."""
        await self._ready()
        call = self._stub.Events(pb.EventsRequest(label=label))
        try:
            async for event in call:
                if event.subscribed:
                    if connected is not None:
                        connected()
                    continue
                yield event.kind, event.container_id, dict(event.labels)
        except grpc.aio.AioRpcError as err:
            raise self.error(err) from None
        finally:
            call.cancel()

    async def close(self) -> None:
        await self._channel.close()


class NodeExec:
    """An exec on a node: base.ExecSession over the agent's Exec stream. Input and control
    calls are carried in order; the agent runs them on the engine's session as they come.

    The stream is read by a task of the session's own: a reader of the session that is
    cancelled (the server's handler, as its client goes away) must not cancel the call with it,
    which gRPC does to a call whose read is cancelled; the SIGKILL sent after would then never
    reach the agent, and the command would run on."""

    through_engine = False  # the manager going away does not touch it; its agent's does

    def __init__(self, client: NodeAgentClient, call, exec_id: str) -> None:
        self.exec_id = exec_id
        self._client = client
        self._call = call
        self._code: int | None = None
        self._failure: Exception | None = None
        self._ended = False
        self._messages: asyncio.Queue[pb.ExecOutput | Exception | None] = asyncio.Queue(EXEC_QUEUE)
        self._closing = False  # what comes after close() is dropped, not queued
        self._pump = asyncio.ensure_future(self._receive())

    async def _receive(self) -> None:
        """Move the agent's messages to the queue: None at the end, an error if it broke."""
        end: Exception | None = None
        try:
            while (message := await self._call.read()) is not grpc.aio.EOF:
                if not self._closing:
                    await self._messages.put(message)
        except grpc.aio.AioRpcError as err:
            end = self._client.error(err)
        except asyncio.CancelledError:
            failure = closed_under(self._client.node_name)
            if failure is None:
                raise  # close() stops it
            end = failure
        await self._messages.put(end)

    async def read(self) -> tuple[int, bytes] | None:
        while not self._ended:
            message = await self._messages.get()
            if isinstance(message, Exception):
                self._ended = True
                self._failure = message
                raise message
            if message is None:
                self._ended = True
                self._failure = EngineError("the node agent ended the command's stream without its exit code")
                return None
            kind = message.WhichOneof("kind")
            if kind == "output":
                return message.output.fd, message.output.data
            if kind == "exit_code":
                self._ended = True
                self._code = message.exit_code
        return None

    async def _send(self, message: pb.ExecInput) -> None:
        if self._call.done():  # a write to an ended call can wait for ever
            raise EngineError("the command's stream has ended")
        try:
            await self._call.write(message)
        except grpc.aio.AioRpcError as err:
            raise self._client.error(err) from None
        except (asyncio.InvalidStateError, grpc.aio.UsageError) as err:
            raise EngineError(f"the command's stream has ended: {err}") from None

    async def write(self, data: bytes) -> None:
        await self._send(pb.ExecInput(stdin=data))

    async def close_stdin(self) -> None:
        await self._send(pb.ExecInput(stdin_eof=True))

    async def resize(self, rows: int, cols: int) -> None:
        await self._send(pb.ExecInput(resize=pb.Resize(rows=rows, cols=cols)))

    async def signal(self, signum: int) -> None:
        await self._send(pb.ExecInput(signal=signum))

    async def exit_code(self) -> int:
        """The exit code once output has ended (what is left of the output is dropped)."""
        while not self._ended:
            await self.read()
        if self._code is None:
            raise self._failure or EngineError("the command's exit code is unknown")
        return self._code

    async def close(self) -> None:
        """End the session: the agent gets what was sent before (a last signal included), then
        the end of the stream, and closes the engine's session."""
        self._closing = True
        while not self._messages.empty():  # a put waiting for room goes on, and the rest is dropped
            self._messages.get_nowait()
        try:
            await asyncio.wait_for(self._finish(), CLOSE_WAIT)
        except (asyncio.TimeoutError, grpc.aio.AioRpcError, asyncio.InvalidStateError, grpc.aio.UsageError):
            pass
        finally:
            self._call.cancel()
            self._pump.cancel()

    async def _finish(self) -> None:
        if not self._call.done():
            await self._call.done_writing()
            await self._call.code()  # the agent ends the call once it closed the session


class DialReader:
    """The reading half of a dialled connection: read() as asyncio.StreamReader's, b"" at the
    end (the agent's half-close); a broken stream raises ConnectionResetError."""

    def __init__(self) -> None:
        self._chunks: asyncio.Queue[bytes | BaseException] = asyncio.Queue(DIAL_QUEUE)
        self._left = b""
        self._eof = False
        self._task: asyncio.Task | None = None

    def start(self, call, node: str) -> None:
        self._task = asyncio.ensure_future(self._receive(call, node))

    async def _receive(self, call, node: str) -> None:
        end: bytes | BaseException = b""
        try:
            while True:
                message = await call.read()
                if message is grpc.aio.EOF or message.WhichOneof("kind") == "eof":
                    break
                if message.data:
                    await self._chunks.put(message.data)
        except grpc.aio.AioRpcError as err:
            if err.code() != grpc.StatusCode.CANCELLED:
                end = ConnectionResetError(f"node {node}: the connection broke: {err.details()}")
        except asyncio.CancelledError:
            if closed_under(node) is None:
                raise
            end = ConnectionResetError(f"node {node}: the connection was closed: the node was given up")
        await self._chunks.put(end)

    async def read(self, n: int = -1) -> bytes:
        if not self._left:
            if self._eof:
                return b""
            item = await self._chunks.get()
            if isinstance(item, BaseException):
                self._eof = True
                raise item
            if not item:
                self._eof = True
                return b""
            self._left = item
        size = len(self._left) if n < 0 else n
        data, self._left = self._left[:size], self._left[size:]
        return data

    def at_eof(self) -> bool:
        return self._eof and not self._left

    async def done(self) -> None:
        if self._task is not None:
            await asyncio.wait([self._task])

    def stop(self) -> None:
        """Stop receiving (the connection is closed): what was not read is dropped."""
        if self._task is not None:
            self._task.cancel()


class DialWriter:
    """The writing half of a dialled connection, as asyncio.StreamWriter's: write() buffers,
    drain() sends, write_eof() half-closes, close() ends the connection (the agent closes its
    side) once what was written is sent."""

    def __init__(self, call, reader: DialReader, peer: str, node: str) -> None:
        self._call = call
        self._reader = reader
        self._peer = peer
        self._node = node
        self._pending: list[pb.DialInput] = []
        self._lock = asyncio.Lock()
        self._closing = False
        self._closer: asyncio.Task | None = None
        self._eof_written = False

    def get_extra_info(self, name: str, default=None):
        host, _, port = self._peer.rpartition(":")
        return {"peername": (host.strip("[]"), int(port or 0)), "node": self._node}.get(name, default)

    def write(self, data: bytes) -> None:
        if self._closing or self._eof_written:
            raise ConnectionResetError("the connection is closed for writing")
        if data:
            self._pending.append(pb.DialInput(data=data))

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        if not self._eof_written:
            self._eof_written = True
            self._pending.append(pb.DialInput(eof=True))
            asyncio.ensure_future(self._flush_quietly())

    async def drain(self) -> None:
        async with self._lock:
            while self._pending:
                message = self._pending.pop(0)
                try:
                    await self._call.write(message)
                except (grpc.aio.AioRpcError, asyncio.InvalidStateError, grpc.aio.UsageError) as err:
                    self._pending.clear()
                    raise ConnectionResetError(f"node {self._node}: the connection is gone: {err}") from None

    async def _flush_quietly(self) -> None:
        try:
            await self.drain()
        except ConnectionResetError:
            pass

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            self._closer = asyncio.ensure_future(self._close())

    async def _close(self) -> None:
        try:
            await self._flush_quietly()
            if not self._call.done():
                await self._call.done_writing()
            # The agent ends the call once it closed the connection: what was sent arrived.
            await asyncio.wait_for(self._reader.done(), CLOSE_WAIT)
        except (asyncio.TimeoutError, grpc.aio.AioRpcError, asyncio.InvalidStateError, grpc.aio.UsageError):
            pass
        finally:
            self._reader.stop()
            self._call.cancel()

    async def wait_closed(self) -> None:
        if self._closer is not None:
            await asyncio.shield(self._closer)
