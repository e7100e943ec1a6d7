"""The cluster as the manager lists it, read by one loop for everyone waiting on it: creates
waiting for their task to run, and the server's event stream (the manager sends no event when
a task's container ends, so its tasks and nodes are looked at every INTERVAL).

One read of every task and every node per interval, however many sandboxes there are or how
many creates wait: the manager is asked twice per interval, not twice per sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field

import aiodocker
from aiodocker.exceptions import DockerError

from sbtui.server.runtime import swarm_tasks
from sbtui.server.runtime.base import EngineError
from sbtui.server.runtime.engine_api import engine_error
from sbtui.server.runtime.swarm_tasks import Node, Task

log = logging.getLogger("sbtui.server.runtime")

INTERVAL = 0.1  # seconds between reads of the cluster
# ... while a create waits for its task to run: a create's answer waits on the next read.
HURRIED_INTERVAL = 0.05
# A read the manager has not answered by then fails: one coming back from a restart may take
# connections before it answers them, and every caller waits on the read.
READ_TIMEOUT = 10.0


@dataclass
class Snapshot:
    number: int  # counts up with each read
    tasks: dict[str, Task] = field(default_factory=dict)  # service id -> its current task
    nodes: dict[str, Node] = field(default_factory=dict)  # node id -> node
    error: EngineError | None = None  # why the last read failed, if it did


async def read(docker: aiodocker.Docker) -> tuple[list[Task], list[Node]]:
    try:
        async with asyncio.timeout(READ_TIMEOUT):
            tasks = await docker._query_json("tasks", params={"filters": json.dumps({})})
            nodes = await docker._query_json("nodes")
    except DockerError as err:
        raise engine_error(err, "reading the swarm's tasks and nodes") from None
    except OSError as err:
        raise EngineError(f"reading the swarm's tasks and nodes: {err}") from None
    except TimeoutError:
        raise EngineError(
            f"reading the swarm's tasks and nodes: the manager did not answer within {READ_TIMEOUT:g} s"
        ) from None
    return [swarm_tasks.task(t) for t in tasks], [swarm_tasks.node(n) for n in nodes]


class ClusterView:
    def __init__(self, docker: aiodocker.Docker) -> None:
        self._docker = docker
        self._latest = Snapshot(0)
        self._readable: Snapshot | None = None  # the newest snapshot read without an error
        self._changed = asyncio.Condition()
        self._loop: asyncio.Task | None = None
        self._hurried = 0  # creates waiting for their task
        self._woken = asyncio.Event()

    @contextlib.contextmanager
    def hurried(self):
        """Read at HURRIED_INTERVAL while this lasts (a create waiting for its task)."""
        self._hurried += 1
        self._woken.set()
        try:
            yield
        finally:
            self._hurried -= 1

    async def after(self, number: int) -> Snapshot:
        """The first snapshot read after snapshot `number`; raises the read's error. 0: the
        latest, or the next read's when the latest failed: an error stays the answer only
        until the manager answers again, not until the next call after that."""
        if self._loop is None:
            self._loop = asyncio.create_task(self._read_forever())
        if number == 0 and self._latest.error is not None:
            number = self._latest.number
            self._woken.set()
        async with self._changed:
            await self._changed.wait_for(lambda: self._latest.number > number)
        if self._latest.error is not None:
            raise self._latest.error
        return self._latest

    async def readable(self) -> Snapshot:
        """The latest snapshot; while the manager can't be read, the newest one that was. For
        what a task that ran then still holds (its node, its container), which does not change:
        a node's agent is reached without the manager."""
        try:
            return await self.after(0)
        except EngineError:
            if self._readable is None:
                raise
            return self._readable

    async def _read_forever(self) -> None:
        number = 0
        while True:
            number += 1
            try:
                tasks, nodes = await read(self._docker)
                found = Snapshot(number, swarm_tasks.by_service(tasks), {n.node_id: n for n in nodes})
            except EngineError as err:
                found = Snapshot(number, error=err)
            async with self._changed:
                self._latest = found
                if found.error is None:
                    self._readable = found
                self._changed.notify_all()
            self._woken.clear()
            interval = HURRIED_INTERVAL if self._hurried else INTERVAL
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._woken.wait(), interval)

    async def close(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
            self._loop = None
