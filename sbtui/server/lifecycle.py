"""Deadlines: Timeout and IdleTimeout, enforced by one scheduler that sleeps until the next one;
and the one a stopping server gives itself to finish the terminations it acknowledged."""

from __future__ import annotations

import asyncio
import time
from typing import Callable, Iterable

from sbtui.proto import sandbox_pb2 as pb
from sbtui.server.background import Loop
from sbtui.server.store import SandboxRecord

DEFAULT_STOP_TIMEOUT = 30.0  # seconds; `sbtui server --stop-timeout`


def due(record: SandboxRecord, active_execs: int) -> tuple[float, pb.TerminationReason]:
    """When `record` must end and why; (inf, UNSPECIFIED) when it has no deadline."""
    when, reason = float("inf"), pb.TERMINATION_REASON_UNSPECIFIED
    if record.deadline:
        when, reason = record.deadline, pb.TERMINATION_REASON_TIMEOUT
    if record.params.HasField("idle_timeout") and active_execs == 0:
        idle_end = record.last_activity + record.params.idle_timeout
        if idle_end < when:
            when, reason = idle_end, pb.TERMINATION_REASON_IDLE_TIMEOUT
    return when, reason


class Scheduler:
    def __init__(
        self,
        running: Callable[[], Iterable[tuple[SandboxRecord, int]]],
        expire: Callable[[SandboxRecord, pb.TerminationReason], None],
    ) -> None:
        self._running = running
        self._expire = expire
        self._wake = asyncio.Event()
        self._task = Loop(self._loop, "deadlines")

    def start(self) -> None:
        self._task.start()

    def changed(self) -> None:
        """A deadline moved: recompute the next wake-up."""
        self._wake.set()

    async def stop(self) -> None:
        await self._task.stop()

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            now = time.time()
            next_due = float("inf")
            for record, active in list(self._running()):
                when, reason = due(record, active)
                if when <= now:
                    self._expire(record, reason)  # marks it terminating at once
                else:
                    next_due = min(next_due, when)
            timeout = None if next_due == float("inf") else max(0.0, next_due - time.time())
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except asyncio.TimeoutError:
                pass
