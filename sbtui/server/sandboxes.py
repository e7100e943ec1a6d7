"""The server's model of apps, images and sandboxes, put together from its parts, and its start
and stop. The engine is the truth about containers; the parts keep the records in step with it:

- catalog.py: the records, in memory and written through to SQLite, found by id or name;
- creation.py: creating a sandbox; transitions.py: its way to the end, terminations and exits;
- reconcile.py: the engine's events followed, and the records made to agree with the engine;
- activity.py: what moves idle deadlines; lifecycle.py: the deadlines; disk.py: the disk limit;
- images.py: pulls, snapshots and listing; secrets.py, volumes.py; logs.py: the output.
"""

from __future__ import annotations

import logging
import time

from sbtui.server import logs
from sbtui.server.activity import SandboxActivity
from sbtui.server.background import Background
from sbtui.server.catalog import Catalog
from sbtui.server.creation import Creator
from sbtui.server.disk import DiskWatcher
from sbtui.server.domains import CustomDomains
from sbtui.server.engine_health import EngineHealth
from sbtui.server.engine_watch import EngineWatch
from sbtui.server.events import EventBus
from sbtui.server.images import Images
from sbtui.server.lifecycle import Scheduler
from sbtui.server.limits import Limits
from sbtui.server.reconcile import Reconciler
from sbtui.server.runtime.base import Runtime
from sbtui.server.sealing import Sealer
from sbtui.server.secrets import Secrets
from sbtui.server.store import Store
from sbtui.server.transitions import Transitions
from sbtui.server.volumes import Volumes

log = logging.getLogger("sbtui.server")


class SandboxManager:
    def __init__(
        self,
        store: Store,
        runtime: Runtime,
        server_id: str,
        limits: Limits | None = None,
        custom_domains: CustomDomains | None = None,
    ) -> None:
        self.store = store
        self.runtime = runtime
        self.limits = limits = limits or Limits()
        self.events = EventBus()
        self.engine_health = EngineHealth(runtime.name)
        self._engine_watch = EngineWatch(runtime, self.engine_health)
        sealer = Sealer(store.path.with_name("secrets.key"))
        self.secrets = Secrets(store, sealer)
        self.kept_output = logs.KeptOutput(store, sealer)
        self.output_readers = logs.Readers()
        self.volumes = Volumes(store, runtime, server_id)
        self.catalog = Catalog(store, self.events)
        self.images = Images(self.catalog, runtime)
        self._background = Background("background task")  # engine work under way
        # The deadlines look at activity and end sandboxes through transitions, which both
        # move deadlines: the scheduler is made first and finds them when it runs.
        self._deadlines = Scheduler(
            lambda: self.activity.running(), lambda record, why: self.transitions.expire(record, why)
        )
        self.activity = SandboxActivity(self.catalog, self._deadlines)
        self.transitions = Transitions(
            self.catalog,
            runtime,
            self._deadlines,
            self.activity,
            self.kept_output,
            self.output_readers,
            self._background,
            self.engine_health,
        )
        self.reconciler = Reconciler(
            self.catalog, runtime, self.transitions, self._background, self.engine_health, server_id
        )
        self.creator = Creator(
            self.catalog,
            self.images,
            self.transitions,
            runtime,
            server_id,
            limits,
            self.engine_health,
            self.secrets,
            self.volumes,
            custom_domains or CustomDomains(),
        )
        self._disk = DiskWatcher(
            runtime,
            limits.disk_bytes,
            lambda: (r for r, _ in self.activity.running()),
            lambda record, used: self.transitions.over_disk_limit(record, used, limits.disk_bytes),
            self.events,
        )

    async def start(self) -> None:
        self._engine_watch.start()
        await self.creator.start()
        self.catalog.load()
        await self.transitions.start()
        await self.reconciler.start()
        self._deadlines.start()
        self._disk.start()
        self.activity.start()

    async def stop(self, timeout: float = 0.0) -> None:
        """Stop beginning work, then finish what was begun: within `timeout` seconds, each
        terminating sandbox (an acknowledged terminate, a deadline passed) is killed, finished
        with its exit code and kept output, and its container removed. What is left then is
        logged; the records say what it was, so the next start carries it out."""
        await self._deadlines.stop()  # no deadline begins a termination from here on
        await self._disk.stop()
        self.activity.stop()
        started = time.monotonic()
        owed = len(self.transitions.terminating())
        ending = await self.transitions.finish_begun(timeout)
        took = time.monotonic() - started
        if ending:
            log.warning(
                "stopping with %d of %d terminations unfinished after %.1f s (%s): the next "
                "start carries them out",
                len(ending),
                owed,
                took,
                ", ".join(r.sandbox_id for r in ending),
            )
        elif self._background.tasks:
            log.warning(
                "stopping with %d engine calls unfinished after %.1f s: the next start "
                "removes what they leave",
                len(self._background.tasks),
                took,
            )
        elif owed:
            log.info("carried out %d terminations in %.1f s before stopping", owed, took)
        await self.reconciler.stop()  # followed until here: an exit event may finish a kill
        await self._engine_watch.stop()
        self._background.cancel()
