"""One exec session: the bidirectional stream between a client and a process in a sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import AsyncIterator

from sbtui.proto import sandbox_pb2 as pb
from sbtui.server import validation
from sbtui.server.errors import invalid, precondition
from sbtui.server.runtime.base import EngineError, EngineNotFound, ExecSession, ExecSpec
from sbtui.server.sandboxes import SandboxManager
from sbtui.server.store import SandboxRecord
from sbtui.server.stream_limits import StreamLimits

DEFAULT_TERM = "xterm-256color"
_KILLED = 128 + signal.SIGKILL


async def _first(requests: AsyncIterator[pb.ExecRequest]) -> pb.ExecStart:
    try:
        first = await anext(requests)
    except StopAsyncIteration:
        raise invalid("start", "the Exec stream ended before a start message") from None
    if first.WhichOneof("kind") != "start":
        raise invalid(
            "start", f"the first message of an Exec stream must be start, not {first.WhichOneof('kind')}"
        )
    return first.start


async def _pump_requests(
    requests: AsyncIterator[pb.ExecRequest], session: ExecSession, manager: SandboxManager, sandbox_id: str
) -> None:
    async for request in requests:
        kind = request.WhichOneof("kind")
        try:
            if kind == "stdin":
                manager.activity.touch(sandbox_id, save=False)
                await session.write(request.stdin)
            elif kind == "stdin_eof":
                await session.close_stdin()
            elif kind == "resize":
                rows, cols = request.resize.rows, request.resize.cols
                if 0 < rows <= 1000 and 0 < cols <= 1000:
                    await session.resize(rows, cols)
            elif kind == "signal":
                if 0 < request.signal < 65:
                    await session.signal(request.signal)
        except (ConnectionError, OSError, EngineError):
            # The process has ended or closed its input; its exit reaches the client anyway.
            pass


async def run(
    manager: SandboxManager, requests: AsyncIterator[pb.ExecRequest], scope: str | None, limits: StreamLimits
) -> AsyncIterator[pb.ExecResponse]:
    start = await _first(requests)
    validation.check_exec(start)
    record = manager.catalog.get(start.sandbox_id, scope)
    if record.state != pb.SANDBOX_STATE_RUNNING:
        ended = f" (exit code {record.exit_code})" if record.exit_code is not None else ""
        raise precondition(f"sandbox {record.sandbox_id} is not running{ended}; exec needs a running sandbox")
    # The sandbox's own environment: an exec can't reach another's secrets.
    environment = manager.catalog.environment(record)
    # Counted before the engine is asked for anything: a refused exec costs it nothing.
    with limits.hold("exec", environment, record.sandbox_id):
        async for reply in _session(manager, requests, start, record, environment):
            yield reply


async def _session(
    manager: SandboxManager,
    requests: AsyncIterator[pb.ExecRequest],
    start: pb.ExecStart,
    record: SandboxRecord,
    environment: str,
) -> AsyncIterator[pb.ExecResponse]:
    # An explicit env variable wins over a secret's, as at create.
    env = {**manager.secrets.environment_for(start.secret_ids, environment), **start.env}
    if start.pty:
        env.setdefault("TERM", start.term or DEFAULT_TERM)
    spec = ExecSpec(
        command=list(start.command),
        env=env,
        workdir=start.workdir,
        tty=start.pty,
        stdout=start.stdout == pb.STDIO_PIPE,
        stderr=start.stderr == pb.STDIO_PIPE,
        rows=start.rows or 24,
        cols=start.cols or 80,
    )
    health = manager.engine_health
    health.check()
    losses = health.losses  # one more by the end: the stream went through an engine since lost
    try:
        session = await manager.runtime.exec(record.container_id, spec)
    except EngineError as err:
        raise precondition(f"could not start {start.command[0]!r}: {err}") from None

    def engine_lost() -> bool:
        return session.through_engine and health.losses != losses

    manager.activity.exec_started(record.sandbox_id)
    timed_out = False

    async def enforce_timeout() -> None:
        nonlocal timed_out
        await asyncio.sleep(start.timeout)
        timed_out = True
        await session.signal(signal.SIGKILL)

    pump = asyncio.create_task(_pump_requests(requests, session, manager, record.sandbox_id))
    timer = asyncio.create_task(enforce_timeout()) if start.HasField("timeout") else None
    finished = False
    try:
        yield pb.ExecResponse(started=session.exec_id)
        broke: EngineError | None = None
        try:
            while (chunk := await session.read()) is not None:
                fd, data = chunk
                yield pb.ExecResponse(stdout=data) if fd == 1 else pb.ExecResponse(stderr=data)
        except EngineError as err:
            broke = err  # the engine may still say how the command ended
        try:
            if engine_lost():
                raise broke or EngineError("the engine went away meanwhile")
            try:
                code = await session.exit_code()
            except EngineNotFound:
                code = _KILLED  # the sandbox ended under it and took the record along
            if engine_lost():
                raise EngineError("the engine went away meanwhile")
        except EngineError as err:
            # The output ended because the connection to the engine did, not the command:
            # how the command ended (or whether it did) is unknown, and no code is made up.
            raise EngineError(
                f"the connection to it broke while {start.command[0]!r} ran ({err}); its exit code is unknown"
            ) from None
        finished = True
        yield pb.ExecResponse(exit=pb.ExecExit(exit_code=code, timed_out=timed_out))
    finally:
        for task in (pump, timer):
            if task:
                task.cancel()
        # Shielded: a second cancellation landing here (the client leaving as its token is
        # revoked) must not cut the kill short or leave the sandbox counted busy.
        await asyncio.shield(_end(session, manager, record.sandbox_id, kill=not finished))


async def _end(session: ExecSession, manager: SandboxManager, sandbox_id: str, kill: bool) -> None:
    if kill:
        # The client went away, or its token was revoked: don't leave its process running unseen.
        with contextlib.suppress(EngineError, OSError):
            await session.signal(signal.SIGKILL)
    try:
        await session.close()
    finally:
        manager.activity.exec_ended(sandbox_id)
