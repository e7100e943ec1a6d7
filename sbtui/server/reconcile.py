"""The engine is the truth about containers: its events are followed as they come, and a
reconcile, at start and each time the engine is back after it was away, makes the records
agree with it: each container of this server is adopted, finished or removed, and each
sandbox whose container is gone is finished."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable

from sbtui.proto import sandbox_pb2 as pb
from sbtui.server.background import Background
from sbtui.server.catalog import Catalog
from sbtui.server.engine_health import EngineHealth
from sbtui.server.runtime.base import EngineError, Runtime
from sbtui.server.runtime.naming import LABEL_NETWORK_OF, LABEL_SANDBOX, owned_by, sandbox_container
from sbtui.server.store import SandboxRecord
from sbtui.server.transitions import Transitions

log = logging.getLogger("sbtui.server")


class Reconciler:
    def __init__(
        self,
        catalog: Catalog,
        runtime: Runtime,
        transitions: Transitions,
        background: Background,
        engine_health: EngineHealth,
        server_id: str,
    ) -> None:
        self._catalog = catalog
        self._runtime = runtime
        self._transitions = transitions
        self._background = background
        self._engine_health = engine_health
        self._label = owned_by(server_id)
        self._monitor: asyncio.Task | None = None

    async def start(self) -> None:
        following = asyncio.Event()
        self._monitor = asyncio.create_task(self._follow_events(following.set), name="engine-events")
        # Subscribed before anything can exit unseen; what exited earlier, reconcile finds.
        await asyncio.wait_for(following.wait(), 30)
        await self._reconcile(startup=True)

    async def stop(self) -> None:
        if self._monitor:  # followed until here: an exit event may be what finishes a kill
            self._monitor.cancel()
            try:
                await self._monitor
            except asyncio.CancelledError:
                pass

    async def _reconcile(self, startup: bool = False) -> None:
        """Make the records agree with the engine: adopt, finish or clean each container."""
        transitions = self._transitions
        containers = {c.container_id: c for c in await self._runtime.list_managed(self._label)}
        holders, adopted = [], []
        owed = transitions.terminating() if startup else []
        if owed:
            log.info("carrying out %d terminations acknowledged before the last stop", len(owed))
        for cid, state in containers.items():
            if LABEL_NETWORK_OF in state.labels:
                holders.append(state)  # kept or removed once every sandbox's fate is known
                continue
            sandbox_id = state.labels.get(LABEL_SANDBOX, "")
            record = self._catalog.sandboxes.get(sandbox_id)
            if record is None:
                await self._remove_unowned(cid, state.labels)
                continue
            if record.finished:
                # Left when the engine could not give its output or remove it (it was stopping).
                await transitions.retire(record, cid)
                continue
            if record.state == pb.SANDBOX_STATE_CREATING and not startup:
                continue  # a create in flight in this process sees it through
            if not record.container_id:
                record.container_id = cid
                self._catalog.track_container(cid, sandbox_id)
            if state.running:
                adopted.append(cid)
                transitions.placed(record, state.node)
                if record.state == pb.SANDBOX_STATE_CREATING:
                    # Its create was cut short: what it left undone is done before it runs.
                    try:
                        allowlist = list(record.params.cidr_allowlist) or None
                        await self._runtime.finish_start(cid, allowlist)
                    except EngineError as err:
                        log.warning("finishing the start of sandbox %s: %s", sandbox_id, err)
                    transitions.running(record, state.started_at)
                elif record.state == pb.SANDBOX_STATE_TERMINATING:
                    # The kill may not have happened before a crash.
                    self._background.spawn(transitions.kill(record))
            else:
                if record.state == pb.SANDBOX_STATE_CREATING and state.exit is None:
                    record.reason = pb.TERMINATION_REASON_FAILED_TO_START  # created, never started
                await transitions.finish(record, state)
        for record in list(self._catalog.sandboxes.values()):
            if not record.finished and record.container_id not in containers:
                if record.state == pb.SANDBOX_STATE_CREATING:
                    if not startup:
                        continue  # a create in flight in this process
                    # The previous server ended before the engine made its container.
                    transitions.mark_finished(record, None, pb.TERMINATION_REASON_FAILED_TO_START)
                    continue
                log.warning("sandbox %s lost its container", record.sandbox_id)
                transitions.mark_finished(record, None, pb.TERMINATION_REASON_LOST)
        for state in holders:
            if self._owner(state.labels) is None:
                await self._remove_unowned(state.container_id, state.labels)
        if startup:
            # Networks no container uses, as one a server killed between removing its last
            # container and removing it leaves; meanwhile deadlines are enforced and creates
            # served (the runtime keeps a network that a create is joining).
            self._background.spawn(self._runtime.remove_unused_networks(self._label))
        if startup and adopted:
            # Their exec streams died with the previous server process and none can be attached
            # again: left alone, their processes would run unseen until the sandbox ends.
            await self._runtime.kill_execs(adopted)

    async def _follow_events(self, first_connected: Callable[[], None]) -> None:
        connected = first_connected
        while True:
            try:
                async for kind, container_id, labels in self._runtime.events(self._label, connected):
                    if kind == "exit":
                        self._background.spawn(self._transitions.on_exit(container_id))
                    elif self._owner(labels) is None:
                        # The engine may carry out a create or start that a killed server asked
                        # for after the restarted one has reconciled: nobody owns what it made.
                        record = self._catalog.sandboxes.get(labels.get(LABEL_SANDBOX, ""))
                        if record is not None:
                            self._background.spawn(self._transitions.retire(record, container_id))
                        else:
                            self._background.spawn(self._remove_unowned(container_id, labels))
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.warning("engine event stream failed: %s", err)
                if not await self._runtime.answers():
                    self._engine_health.catching_up = True
                    self._engine_health.down(str(err))
            await asyncio.sleep(1)
            # Subscribed again: catch up on whatever happened while the stream was down.
            connected = self._resubscribed

    def _owner(self, labels: dict[str, str]) -> SandboxRecord | None:
        """The live sandbox a container of this server belongs to: its own, or the one whose
        network namespace it holds."""
        record = self._catalog.sandboxes.get(labels.get(LABEL_SANDBOX) or labels.get(LABEL_NETWORK_OF, ""))
        if record is None or (record.finished and not self._transitions.finishing(record.sandbox_id)):
            return None
        return record  # live, or finished with its output still being read from its container

    async def _remove_unowned(self, container_id: str, labels: dict[str, str]) -> None:
        log.info("removing container %s that no live sandbox owns", container_id[:12])
        if LABEL_NETWORK_OF in labels:
            # Podman refuses to remove a network namespace that a container still shares.
            await self._runtime.remove(sandbox_container(labels[LABEL_NETWORK_OF]))
        await self._runtime.remove(container_id)

    def _resubscribed(self) -> None:
        # The engine answers: creates and execs may go on while the reconcile catches up.
        self._engine_health.answering()
        self._background.spawn(self._reconcile_logged())

    async def _reconcile_logged(self) -> None:
        began = time.monotonic()
        try:
            await self._reconcile()
        except EngineError as err:
            log.warning("engine not reachable: %s", err)
            return
        if self._engine_health.catching_up:
            # Kept until here: the exits this reconcile found happened while it was away.
            self._engine_health.catching_up = False
            log.info("the engine answers again; caught up with it in %.1f s", time.monotonic() - began)

    async def engine_service_restarted(self) -> None:
        """The engine's API service died and a new one answers. Every exec stream went through
        the dead one, and none can be attached again: the processes they started, which run on,
        are ended (as at a restart of this server), before the engine counts as ok and new
        execs are let in."""
        running = [
            r.container_id
            for r in self._catalog.sandboxes.values()
            if r.state == pb.SANDBOX_STATE_RUNNING and r.container_id
        ]
        if running:
            await self._runtime.kill_execs(running)
