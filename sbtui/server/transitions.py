"""A sandbox's way from start to end: running once its container started; terminating when a
caller, a deadline or the disk limit ends it, its container then killed; finished when the
engine reports the exit, with its exit code and reason, its output kept and its container
removed."""

from __future__ import annotations

import asyncio
import logging
import signal
import time

from sbtui.proto import sandbox_pb2 as pb
from sbtui.server import logs, validation
from sbtui.server.activity import SandboxActivity
from sbtui.server.background import Background
from sbtui.server.catalog import Catalog
from sbtui.server.engine_health import EngineHealth
from sbtui.server.errors import precondition
from sbtui.server.lifecycle import Scheduler
from sbtui.server.runtime import naming
from sbtui.server.runtime.base import ContainerExit, ContainerState, EngineError, Runtime
from sbtui.server.store import SandboxRecord

log = logging.getLogger("sbtui.server")

# How a stopping engine ends a container: SIGTERM, then SIGKILL once its grace period is over.
_KILLED = 128 + signal.SIGKILL
_STOPPED_BY_SIGNAL = {128 + signal.SIGTERM, _KILLED}


class Transitions:
    def __init__(
        self,
        catalog: Catalog,
        runtime: Runtime,
        deadlines: Scheduler,
        activity: SandboxActivity,
        kept_output: logs.KeptOutput,
        output_readers: logs.Readers,
        background: Background,
        engine_health: EngineHealth,
    ) -> None:
        self._catalog = catalog
        self._runtime = runtime
        self._deadlines = deadlines
        self._activity = activity
        self._kept_output = kept_output
        self._output_readers = output_readers
        self._background = background
        self._engine_health = engine_health
        self._exited: dict[str, asyncio.Event] = {}
        self._finishing: dict[str, asyncio.Event] = {}  # set once the output is kept
        self._engine_stops_containers = False  # read from the engine at start

    async def start(self) -> None:
        """After the catalog is loaded: a wait for each sandbox that has not finished."""
        self._engine_stops_containers = await self._runtime.containers_stop_with_engine()
        for record in self._catalog.sandboxes.values():
            if not record.finished:
                self._exited[record.sandbox_id] = asyncio.Event()

    def created(self, record: SandboxRecord) -> None:
        """A sandbox was just made, its container not yet."""
        self._exited[record.sandbox_id] = asyncio.Event()

    def running(self, record: SandboxRecord, started_at: float) -> None:
        record.state = pb.SANDBOX_STATE_RUNNING
        record.started_at = started_at or time.time()
        timeout = record.params.timeout if record.params.HasField("timeout") else validation.DEFAULT_TIMEOUT
        record.deadline = record.created_at + timeout
        self._catalog.store.save_sandbox(record)
        self._deadlines.changed()
        self._catalog.publish(pb.SandboxEvent.STATE_CHANGED, record)

    def placed(self, record: SandboxRecord, node: str) -> None:
        """The runtime says where the sandbox's container runs: kept when it is news (a record
        of an older server has no node; on a cluster a sandbox may be placed anew)."""
        if node and node != record.node:
            record.node = node
            self._catalog.store.save_sandbox(record)
            self._catalog.publish(pb.SandboxEvent.STATE_CHANGED, record)

    # ---- terminations -------------------------------------------------------------

    def terminating(self) -> list[SandboxRecord]:
        return [r for r in self._catalog.sandboxes.values() if r.state == pb.SANDBOX_STATE_TERMINATING]

    async def finish_begun(self, timeout: float) -> list[SandboxRecord]:
        """Wait, for at most `timeout` seconds, until no sandbox is terminating and no engine
        work is under way; return the sandboxes still terminating."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            ending = self.terminating()
            left = deadline - loop.time()
            if (not ending and not self._background.tasks) or left <= 0:
                return ending
            # A kill's own look may find the container still running: then its exit event
            # ends the record, so wait for the ends as well as for the tasks.
            ends = [asyncio.ensure_future(self._exited[r.sandbox_id].wait()) for r in ending]
            try:
                await asyncio.wait({*self._background.tasks, *ends}, timeout=left)
            finally:
                for end in ends:
                    end.cancel()

    def expire(self, record: SandboxRecord, reason: pb.TerminationReason) -> None:
        log.info(
            "sandbox %s reached its %s",
            record.sandbox_id,
            "idle timeout" if reason == pb.TERMINATION_REASON_IDLE_TIMEOUT else "timeout",
        )
        self._begin_termination(record, reason)

    def over_disk_limit(self, record: SandboxRecord, used: int, limit: int) -> None:
        log.info(
            "sandbox %s wrote %d bytes (%.1f MiB) outside its volumes, past the disk limit of %d MiB",
            record.sandbox_id,
            used,
            used / 2**20,
            limit >> 20,
        )
        self._begin_termination(record, pb.TERMINATION_REASON_DISK_LIMIT)

    def _begin_termination(self, record: SandboxRecord, reason: pb.TerminationReason) -> None:
        if record.state != pb.SANDBOX_STATE_RUNNING:
            return
        record.reason = reason  # saved with the state: a restart still knows why it ends
        record.state = pb.SANDBOX_STATE_TERMINATING
        self._catalog.store.save_sandbox(record)
        self._catalog.publish(pb.SandboxEvent.STATE_CHANGED, record)
        self._background.spawn(self.kill(record))

    async def kill(self, record: SandboxRecord) -> None:
        try:
            await self._runtime.kill(record.container_id)
        except EngineError as err:
            log.warning("killing sandbox %s failed: %s", record.sandbox_id, err)
        # Normally the exit event finishes the record; if the container had already
        # stopped, no event will come, so look.
        await self.on_exit(record.container_id)

    async def terminate(self, sandbox_id: str, wait: bool) -> int | None:
        record = self._catalog.get(sandbox_id)
        if record.state == pb.SANDBOX_STATE_CREATING:
            raise precondition(f"sandbox {sandbox_id} is still starting; terminate it once it runs")
        self._begin_termination(record, pb.TERMINATION_REASON_TERMINATED)
        if not wait or record.finished:  # one that ended before a restart has no exit to wait on
            return record.exit_code
        await self._exited[sandbox_id].wait()
        return record.exit_code

    async def wait(self, sandbox_id: str, timeout: float) -> bool:
        record = self._catalog.get(sandbox_id)
        if record.finished:
            return True
        try:
            await asyncio.wait_for(self._exited[sandbox_id].wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    # ---- exits --------------------------------------------------------------------

    async def on_exit(self, container_id: str) -> None:
        try:
            state = await self._runtime.inspect(container_id)
        except EngineError as err:
            # The engine is going away (a stopping dockerd sends exits, then stops answering):
            # the reconcile once it is back finishes the sandbox.
            log.info("could not look at container %s that exited: %s", container_id[:12], err)
            return
        sandbox_id = self._catalog.sandbox_of_container(container_id) or (
            state.labels.get(naming.LABEL_SANDBOX, "") if state else ""
        )
        record = self._catalog.sandboxes.get(sandbox_id)
        if record is None or record.finished:
            return
        # A command that ends at once exits before create_and_start returns its container:
        # its output is read from here.
        record.container_id = record.container_id or container_id
        if state is None:
            self.mark_finished(record, None, pb.TERMINATION_REASON_LOST)
        elif not state.running:
            await self.finish(record, state)

    async def finish(self, record: SandboxRecord, state: ContainerState) -> None:
        # The exit event and the check after a kill can both get here: one finishes.
        if record.finished or record.sandbox_id in self._finishing:
            return
        kept = self._finishing[record.sandbox_id] = asyncio.Event()
        try:
            exit_ = state.exit
            reason = record.reason
            if not reason:
                if exit_ and exit_.node_lost:
                    reason = pb.TERMINATION_REASON_NODE_LOST
                elif exit_ and exit_.oom_killed:
                    reason = pb.TERMINATION_REASON_OUT_OF_MEMORY
                elif await self._stopped_by_engine(exit_):
                    reason = pb.TERMINATION_REASON_ENGINE_STOPPED
                elif exit_ and exit_.memory_limited and exit_.exit_code == _KILLED:
                    # What the engines say of the OOM killer can't be relied on: Podman on
                    # cgroup v1 never says it, Docker drops what it hears once the container
                    # has gone (1 of 8 sandboxes killed at once, in one run of 3), and a swarm
                    # task's state does not say it. A SIGKILL of the main command can't come
                    # from inside the sandbox (the kernel ignores it there for its init), the
                    # engine's own stop was ruled out above, and sbtui's kills carry their
                    # reason: under a memory limit it is the OOM killer's. A main command that
                    # itself ends with 137 (a shell whose child was SIGKILLed) reads so too.
                    reason = pb.TERMINATION_REASON_OUT_OF_MEMORY
                else:
                    reason = pb.TERMINATION_REASON_EXITED
            record.node = state.node or record.node  # kept by mark_finished, which saves
            self.mark_finished(
                record, exit_.exit_code if exit_ else None, reason, exit_.finished_at if exit_ else 0.0
            )
            # Kept once waiters have learnt of the end (the engine may take a while), before
            # the container goes; readers of the output wait for it (output_kept).
            await logs.keep(self._runtime, self._kept_output, record)
        finally:
            del self._finishing[record.sandbox_id]
            kept.set()
        await self._remove_finished(record, state.container_id)

    async def _stopped_by_engine(self, exit_: ContainerExit | None) -> bool:
        """Whether the engine ended the container by stopping: it was killed the way a stopping
        engine kills, on an engine that stops its containers, which was stopping then (it
        takes no new connection, though it still serves those it has) or has come back since."""
        if exit_ is not None and exit_.engine_restarted:
            return True  # its node's engine said so (a cluster's node)
        if not self._engine_stops_containers or exit_ is None or exit_.exit_code not in _STOPPED_BY_SIGNAL:
            return False
        return self._engine_health.catching_up or not await self._runtime.answers()

    def finishing(self, sandbox_id: str) -> bool:
        """Whether the sandbox's output is being kept now, from its container."""
        return sandbox_id in self._finishing

    async def retire(self, record: SandboxRecord, container_id: str) -> None:
        """The container of a finished sandbox, still in the engine: its output is kept if it
        was not (the engine was stopping when the sandbox ended), then it is removed. A
        container with a record is never removed before that."""
        if record.sandbox_id in self._finishing:
            return  # being finished now: that removes it
        if record.container_id == container_id and not self._catalog.store.has_logs(record.sandbox_id):
            kept = self._finishing[record.sandbox_id] = asyncio.Event()
            try:
                await logs.keep(self._runtime, self._kept_output, record)
            finally:
                del self._finishing[record.sandbox_id]
                kept.set()
        await self._remove_finished(record, container_id)

    async def _remove_finished(self, record: SandboxRecord, container_id: str) -> None:
        await self._output_readers.done(record.sandbox_id)
        if not await self._runtime.answers():
            # The engine is stopping: it takes no new connection but still serves those it has.
            # Its output may not have been kept, and what is removed now can leave the engine's
            # own state broken (see EnvironmentNetworks.remove_if_unused, runtime/networks.py):
            # the container stays, and the reconcile once the engine is back keeps the output,
            # then removes it.
            log.info(
                "sandbox %s ended as the engine stopped; its container stays until the engine is back",
                record.sandbox_id,
            )
            return
        try:
            await self._runtime.remove(container_id)
            if record.params.cidr_allowlist:
                await self._runtime.remove(naming.network_holder(record.sandbox_id))
        except EngineError as err:
            log.warning("removing container %s failed: %s", container_id[:12], err)

    async def output_kept(self, sandbox_id: str) -> None:
        """Return once a finished sandbox's output is in the store, where readers look."""
        kept = self._finishing.get(sandbox_id)
        if kept is not None:
            await kept.wait()

    def mark_finished(
        self, record: SandboxRecord, exit_code: int | None, reason: pb.TerminationReason, at: float = 0.0
    ) -> None:
        if record.finished:
            return
        record.state = pb.SANDBOX_STATE_FINISHED
        record.exit_code = exit_code
        record.reason = reason
        record.finished_at = at or time.time()
        self._catalog.store.save_sandbox(record)
        self._catalog.ended(record)
        self._activity.finished(record.sandbox_id)
        self._exited.setdefault(record.sandbox_id, asyncio.Event()).set()
        self._deadlines.changed()
        self._catalog.publish(pb.SandboxEvent.EXITED, record)
        if record.params.verbose:
            log.info("sandbox %s finished with exit code %s", record.sandbox_id, exit_code)
