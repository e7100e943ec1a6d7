"""An engine that takes calls and never answers them: hung.

A deadlocked dockerd (Docker before 20.10.27 can deadlock on one network's changes,
moby/moby#46661) still accepts connections, answers pings and serves pulls, and its event
stream stays open; but every start, exit, kill and network call waits on it forever. Nothing
fails, so nothing else here notices: creates and execs would hang with it. Every CHECK_EVERY
seconds the engine is asked to list its networks; one that takes over HUNG_AFTER seconds is
called down, saying so, so that creates and execs are refused at once with the reason and
clients (the dashboard's banner among them) see it; its next answer brings it back.
"""

from __future__ import annotations

import asyncio
import logging

from sbtui.server.background import Loop
from sbtui.server.engine_health import EngineHealth
from sbtui.server.runtime.base import EngineError, Runtime

log = logging.getLogger("sbtui.server")

CHECK_EVERY = 5.0
HUNG_AFTER = 20.0


class EngineWatch:
    def __init__(self, runtime: Runtime, health: EngineHealth) -> None:
        self._runtime = runtime
        self._health = health
        self._hung = False  # the engine is down because this watch said so
        self._task = Loop(self._loop, "engine-watch")

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()

    async def _loop(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(CHECK_EVERY)

    async def check(self) -> None:
        try:
            await asyncio.wait_for(self._runtime.list_networks(), HUNG_AFTER)
        except asyncio.TimeoutError:
            if not self._hung:
                self._hung = True
                reason = (
                    f"it took calls but listed no network within {HUNG_AFTER:.0f} s: it is hung; restart it"
                )
                log.warning("%s is hung: %s", self._runtime.name, reason)
                self._health.down(reason)
            return
        except EngineError:
            return  # not answering at all: the event stream's watch says so (reconcile.py)
        if self._hung:
            self._hung = False
            log.info("%s answers again", self._runtime.name)
            self._health.answering()
