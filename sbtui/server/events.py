"""Fan-out of sandbox events to Watch streams."""

from __future__ import annotations

import asyncio
import time

from sbtui.proto import sandbox_pb2 as pb

# A watcher this far behind is dropped and told to reconnect, instead of holding memory.
QUEUE_LIMIT = 20_000


class WatcherFellBehind(Exception):
    pass


class EventBus:
    def __init__(self) -> None:
        self._queues: set[asyncio.Queue] = set()

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(QUEUE_LIMIT)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._queues.discard(queue)

    def publish(self, kind: pb.SandboxEvent.Kind, info: pb.SandboxInfo) -> None:
        event = pb.SandboxEvent(kind=kind, sandbox=info, time=time.time())
        for queue in list(self._queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self._queues.discard(queue)
                queue._overflowed = True  # type: ignore[attr-defined]

    @staticmethod
    async def next(queue: asyncio.Queue) -> pb.SandboxEvent:
        if getattr(queue, "_overflowed", False) and queue.empty():
            raise WatcherFellBehind()
        return await queue.get()
