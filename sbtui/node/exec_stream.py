"""An exec on the node, served as the Exec stream: the engine's session (engine_exec.py, the
same as DockerRuntime.exec's) driven by the server's messages, in the order they come.

The server ending its side of the stream closes the session, after whatever it sent before
(a last SIGKILL included). A stream that breaks instead (the server went away) leaves nobody
to end the command: the agent kills it, as the server does with a client that went away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import AsyncIterator

from sbtui.proto import node_pb2 as pb
from sbtui.server.runtime.base import EngineError, ExecSession, ExecSpec
from sbtui.server.runtime.docker import DockerRuntime

log = logging.getLogger("sbtui.node.exec")


def spec_of(start: pb.ExecStart) -> ExecSpec:
    return ExecSpec(
        command=list(start.command),
        env=dict(start.env),
        workdir=start.workdir,
        tty=start.tty,
        stdin=start.stdin,
        stdout=start.stdout,
        stderr=start.stderr,
        rows=start.rows or 24,
        cols=start.cols or 80,
    )


async def _apply(inputs: AsyncIterator[pb.ExecInput], session: ExecSession, closed: asyncio.Event) -> None:
    async for message in inputs:
        kind = message.WhichOneof("kind")
        try:
            if kind == "stdin":
                await session.write(message.stdin)
            elif kind == "stdin_eof":
                await session.close_stdin()
            elif kind == "resize":
                await session.resize(message.resize.rows, message.resize.cols)
            elif kind == "signal":
                await session.signal(message.signal)
        except (ConnectionError, OSError, EngineError) as err:
            # The process has ended or closed its input; its exit reaches the server anyway.
            log.debug("exec %s: %s ignored: %s", session.exec_id[:12], kind, err)
    closed.set()
    await session.close()


async def run(runtime: DockerRuntime, inputs: AsyncIterator[pb.ExecInput]) -> AsyncIterator[pb.ExecOutput]:
    first = await anext(inputs, None)
    if first is None or first.WhichOneof("kind") != "start":
        raise ValueError("the first message of an Exec stream must be start")
    start = first.start
    if not start.container_id or not start.command:
        raise ValueError("start needs a container id and a command")
    session = await runtime.exec(start.container_id, spec_of(start))
    closed = asyncio.Event()
    applying = asyncio.create_task(_apply(inputs, session, closed))
    finished = False
    try:
        yield pb.ExecOutput(started=session.exec_id)
        try:
            while (chunk := await session.read()) is not None:
                yield pb.ExecOutput(output=pb.OutputChunk(fd=chunk[0], data=chunk[1]))
        except EngineError:
            if closed.is_set():
                return
            # The engine's stream broke: it may still say how the command ended.
        if closed.is_set():
            return
        # Until the exit code is known, or the server ends its side: it no longer wants the
        # code then (it killed the command, whose client went away), and Docker takes 2 s to
        # report the exit of an exec whose input is still open.
        asking = asyncio.ensure_future(session.exit_code())
        ending = asyncio.ensure_future(closed.wait())
        try:
            await asyncio.wait({asking, ending}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ending.cancel()
            if not asking.done():
                asking.cancel()
        if not asking.done() or asking.cancelled():
            return
        code = asking.result()
        finished = True
        yield pb.ExecOutput(exit_code=code)
    finally:
        applying.cancel()
        if not finished and not closed.is_set():
            with contextlib.suppress(EngineError, OSError):
                await asyncio.shield(session.signal(signal.SIGKILL))
        await asyncio.shield(session.close())
