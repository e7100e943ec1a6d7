"""Activity in sandboxes, which moves their idle deadlines: input to an exec, and an exec or a
tunnel connection for as long as it is open."""

from __future__ import annotations

import asyncio
import time
from typing import Iterator

from sbtui.proto import sandbox_pb2 as pb
from sbtui.server.catalog import Catalog
from sbtui.server.lifecycle import Scheduler
from sbtui.server.store import SandboxRecord

SAVED_EVERY = 1.0  # seconds between saves of the activity of open sessions


class SandboxActivity:
    def __init__(self, catalog: Catalog, deadlines: Scheduler) -> None:
        self._catalog = catalog
        self._deadlines = deadlines
        self.execs: dict[str, int] = {}  # sandbox id -> open exec sessions
        self.tunnel_connections: dict[str, int] = {}  # sandbox id -> open tunnel connections
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._record(), name="activity")

    def stop(self) -> None:
        if self._task:
            self._task.cancel()

    def running(self) -> Iterator[tuple[SandboxRecord, int]]:
        """Each running sandbox, with how many sessions it has open."""
        for record in self._catalog.sandboxes.values():
            if record.state == pb.SANDBOX_STATE_RUNNING:
                # An open tunnel connection holds off the idle timeout just as an exec does.
                yield (
                    record,
                    (
                        self.execs.get(record.sandbox_id, 0)
                        + self.tunnel_connections.get(record.sandbox_id, 0)
                    ),
                )

    def touch(self, sandbox_id: str, save: bool = True) -> None:
        """Activity in the sandbox: moves its idle deadline.

        Saved at once, so that a restarted server counts idleness from it; `save=False` for
        activity inside an open session, which _record saves every second anyway.
        """
        record = self._catalog.sandboxes.get(sandbox_id)
        if record is None:
            return
        record.last_activity = time.time()
        if save and not record.finished:
            self._catalog.store.save_sandbox(record)
        if record.params.HasField("idle_timeout"):
            self._deadlines.changed()

    async def _record(self) -> None:
        """An open exec or tunnel connection is activity for as long as it lasts. The server
        writes that down every second: after a crash, which ends every session, idleness
        counts from the last moment the server saw one open, not from when it opened."""
        while True:
            await asyncio.sleep(SAVED_EVERY)
            now = time.time()
            for sandbox_id in {*self.execs, *self.tunnel_connections}:
                record = self._catalog.sandboxes.get(sandbox_id)
                if record is not None and not record.finished:
                    record.last_activity = now
                    self._catalog.store.save_sandbox(record)

    def exec_started(self, sandbox_id: str) -> None:
        self.execs[sandbox_id] = self.execs.get(sandbox_id, 0) + 1
        self.touch(sandbox_id)

    def exec_ended(self, sandbox_id: str) -> None:
        left = self.execs.get(sandbox_id, 1) - 1
        if left:
            self.execs[sandbox_id] = left
        else:
            self.execs.pop(sandbox_id, None)
        self.touch(sandbox_id)

    def tunnel_connection_opened(self, sandbox_id: str) -> None:
        counts = self.tunnel_connections
        counts[sandbox_id] = counts.get(sandbox_id, 0) + 1
        self.touch(sandbox_id)

    def tunnel_connection_closed(self, sandbox_id: str) -> None:
        counts = self.tunnel_connections
        left = counts.get(sandbox_id, 1) - 1
        if left > 0:
            counts[sandbox_id] = left
        else:
            counts.pop(sandbox_id, None)
        self.touch(sandbox_id)

    def finished(self, sandbox_id: str) -> None:
        """The sandbox ended, and its execs with it."""
        self.execs.pop(sandbox_id, None)
