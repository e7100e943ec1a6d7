"""A connection to a container's port on this node, served as the Dial stream: the agent
connects to the container's address (as DockerRuntime.container_address finds it), from the
container's own network namespace (netns.py), and splices, half-closes carried both ways; the
server ending its side closes the connection."""

from __future__ import annotations

import asyncio
import errno
from typing import AsyncIterator

from sbtui.node import netns
from sbtui.proto import node_pb2 as pb
from sbtui.server.runtime.base import EngineError, EngineNotFound
from sbtui.server.runtime.docker import DockerRuntime

CONNECT_TIMEOUT = 10.0
BUFFER = 64 * 1024


async def _connect(runtime: DockerRuntime, container_id: str, port: int, node: str):
    address = await runtime.container_address(container_id)
    pid = await runtime.pid(container_id)
    if address is None or not pid:
        if await runtime.inspect(container_id) is None:
            raise EngineNotFound(f"container {container_id[:12]} is not on node {node}")
        raise EngineError(f"container {container_id[:12]} has no network address to connect to")
    where = f"port {port} of container {container_id[:12]} ({address})"
    try:
        reader, writer = await asyncio.wait_for(
            netns.open_connection(pid, address, port, BUFFER), CONNECT_TIMEOUT
        )
    except asyncio.TimeoutError:
        raise OSError(errno.ETIMEDOUT, f"connecting to {where} timed out") from None
    except OSError as err:
        number = err.errno or errno.EIO
        raise type(err)(number, f"connecting to {where}: {err.strerror or err}") from None
    host = f"[{address}]" if ":" in address else address
    return reader, writer, f"{host}:{port}"


async def _forward(inputs: AsyncIterator[pb.DialInput], writer: asyncio.StreamWriter) -> None:
    try:
        async for message in inputs:
            kind = message.WhichOneof("kind")
            if kind == "data":
                writer.write(message.data)
                await writer.drain()
            elif kind == "eof" and writer.can_write_eof():
                writer.write_eof()
    except (ConnectionError, OSError):
        pass  # the container closed the connection: its end reaches the server on the way back
    finally:
        writer.close()  # the server closed its side: the reading half ends with it


async def run(
    runtime: DockerRuntime, inputs: AsyncIterator[pb.DialInput], node: str
) -> AsyncIterator[pb.DialOutput]:
    first = await anext(inputs, None)
    if first is None or first.WhichOneof("kind") != "open":
        raise ValueError("the first message of a Dial stream must be open")
    if not 1 <= first.open.port <= 65535:
        raise ValueError(f"port {first.open.port} is not a port number (1 to 65535)")
    reader, writer, peer = await _connect(runtime, first.open.container_id, first.open.port, node)
    forwarding = asyncio.create_task(_forward(inputs, writer))
    try:
        yield pb.DialOutput(connected=peer)
        try:
            while data := await reader.read(BUFFER):
                yield pb.DialOutput(data=data)
        except (ConnectionError, OSError):
            pass  # reset: the end of it, all the same
        yield pb.DialOutput(eof=True)
        await forwarding  # until the server closes its side
    finally:
        forwarding.cancel()
        writer.close()
