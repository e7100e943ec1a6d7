"""What the dashboard knows of the sandboxes: a store fed by the server's watch stream.

The store keeps every sandbox by id and counts them by state. `WatchFollower` subscribes to
`client.sandboxes.watch(initial=True)`, so there is no polling loop: the server first sends every
sandbox (EXISTING), then SYNCED, then each change as it happens. A lost stream is subscribed again
with backoff, and the store is rebuilt from the new EXISTING + SYNCED, which drops sandboxes the
server forgot while we were away. Nothing here knows Textual: the app wires the callbacks to
messages.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import AsyncIterator, Callable, Protocol

from sbtui.client import EventKind, SandboxEvent, SandboxInfo, SandboxState, SbtuiError


@dataclass
class StoreChange:
    """What changed since the last `take_changes()`: some ids, or everything (`reset`)."""

    ids: set[str] = field(default_factory=set)
    reset: bool = False

    def __bool__(self) -> bool:
        return self.reset or bool(self.ids)


class SandboxStore:
    def __init__(self) -> None:
        self.sandboxes: dict[str, SandboxInfo] = {}
        self.counts: Counter[SandboxState] = Counter()
        self.synced = False
        self._incoming: dict[str, SandboxInfo] | None = None
        self._change = StoreChange()

    def __len__(self) -> int:
        return len(self.sandboxes)

    def get(self, sandbox_id: str) -> SandboxInfo | None:
        return self.sandboxes.get(sandbox_id)

    def begin_resync(self) -> None:
        """A new watch starts: collect its EXISTING sandboxes until SYNCED replaces ours."""
        self._incoming = {}
        self.synced = False

    def apply(self, event: SandboxEvent) -> None:
        if event.kind == EventKind.SYNCED:
            self._finish_resync()
        elif event.sandbox is None:
            return
        elif event.kind == EventKind.EXISTING and self._incoming is not None:
            self._incoming[event.sandbox.sandbox_id] = event.sandbox
        else:
            self._put(event.sandbox)

    def _finish_resync(self) -> None:
        if self._incoming is not None:
            self.sandboxes = self._incoming
            self.counts = Counter(info.state for info in self.sandboxes.values())
            self._incoming = None
            self._change = StoreChange(reset=True)
        self.synced = True

    def _put(self, info: SandboxInfo) -> None:
        if self._incoming is not None:
            # A live event before SYNCED belongs to the snapshot being collected.
            self._incoming[info.sandbox_id] = info
            return
        old = self.sandboxes.get(info.sandbox_id)
        if old is not None:
            self.counts[old.state] -= 1
        self.counts[info.state] += 1
        self.sandboxes[info.sandbox_id] = info
        self._change.ids.add(info.sandbox_id)

    def take_changes(self) -> StoreChange:
        change, self._change = self._change, StoreChange()
        return change

    def app_names(self) -> Counter[str]:
        """Sandboxes per app name."""
        return Counter(info.app_name for info in self.sandboxes.values())


@dataclass(frozen=True)
class ConnectionStatus:
    connected: bool
    error: str = ""
    attempt: int = 0  # reconnect attempts since the stream was lost
    was_connected: bool = False  # the stream was up before: this is a loss, not a first try


class Watch(Protocol):
    """`client.sandboxes.watch`, or something that calls it."""

    def __call__(
        self, *, initial: bool = True, include_finished: bool = True
    ) -> AsyncIterator[SandboxEvent]: ...


def backoff(attempt: int) -> float:
    """Seconds to wait before reconnect `attempt` (0-based): 0.5, 1, 2, 4, then 8 at most."""
    return min(0.5 * 2**attempt, 8.0)


class WatchFollower:
    """Keeps `store` in step with the server, reconnecting by itself."""

    def __init__(
        self,
        watch: Watch,
        store: SandboxStore,
        on_change: Callable[[], None],
        on_status: Callable[[ConnectionStatus], None],
        delay: Callable[[int], float] = backoff,
    ) -> None:
        self._watch = watch
        self._store = store
        self._on_change = on_change
        self._on_status = on_status
        self._delay = delay

    async def run(self) -> None:
        attempt = 0
        was_connected = False
        while True:
            self._store.begin_resync()
            try:
                async for event in self._watch(initial=True, include_finished=True):
                    self._store.apply(event)
                    if event.kind == EventKind.SYNCED:
                        attempt, was_connected = 0, True
                        self._on_status(ConnectionStatus(connected=True, was_connected=True))
                    if self._store.synced:
                        self._on_change()
                error = "the server ended the watch stream"
            except SbtuiError as err:
                error = str(err)
            wait = self._delay(attempt)
            attempt += 1
            self._on_status(ConnectionStatus(False, error, attempt, was_connected))
            await asyncio.sleep(wait)
