"""Work the server begins and does not wait for (a kill and the look after it, a tunnel's
listeners): each task ends by itself; a failure is logged; a stop cancels what is left. And the
loops it runs from its start to its stop (the deadlines, the disk limit, the engine's watch)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Callable, Coroutine

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


class Loop:
    """One task that runs `run()` from start() until stop() cancels it and waits for its end."""

    def __init__(self, run: Callable[[], Coroutine], name: str) -> None:
        self._run = run
        self._name = name
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
