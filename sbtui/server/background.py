"""Work the server begins and does not wait for (a kill and the look after it, a tunnel's
listeners): each task ends by itself; a failure is logged; a stop cancels what is left."""

from __future__ import annotations

import asyncio
import logging
from typing import Coroutine

log = logging.getLogger("sbtui.server")


class Background:
    def __init__(self, what: str) -> None:
        self._what = what  # names the tasks in the log: "background task", "tunnel task"
        self.tasks: set[asyncio.Task] = set()

    def spawn(self, coro: Coroutine, name: str | None = None) -> None:
        task = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("%s failed: %s", self._what, task.exception())

    def cancel(self) -> None:
        for task in list(self.tasks):
            task.cancel()
