"""SbtuiApp: the dashboard. It owns the client, the sandbox store and the watch that feeds it;
which screen it shows, and when, is navigation.py's."""

from __future__ import annotations

import asyncio
import gc
import time
from functools import partial
from pathlib import Path
from typing import AsyncIterator, Callable, Iterable

from textual import events
from textual.app import SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen

from sbtui.client import Client, EngineStatus, Sandbox, SandboxEvent, SbtuiError
from sbtui.tui.keymap import APP_KEYS, WRITE_ACTIONS, bindings, config_path, load_keymap
from sbtui.tui.messages import SandboxesChanged, SnapshotTaken
from sbtui.tui.navigation import Navigation
from sbtui.tui.sessions import Sessions
from sbtui.tui.state import ConnectionStatus, SandboxStore, WatchFollower, backoff
from sbtui.tui.typeahead import TypeAhead

ENGINE_POLL = 2.0  # seconds between looks at the server's engine state (ServerInfo)


class SbtuiApp(Navigation, inherit_bindings=False):
    CSS_PATH = "app.tcss"
    TITLE = "sbtui"
    BINDINGS = bindings(APP_KEYS)

    connection: reactive[ConnectionStatus] = reactive(ConnectionStatus(False), init=False)
    # The server's container engine, as its ServerInfo last said (None until it has).
    engine: reactive[EngineStatus | None] = reactive(None, init=False)

    def __init__(
        self,
        client: Client | None = None,
        *,
        address: str | None = None,
        token: str | None = None,
        readonly: bool = False,
        clock: Callable[[], float] = time.time,
        keymap_path: Path | None = None,
        reconnect_delay: Callable[[int], float] = backoff,
    ) -> None:
        """`client`, or else one connected to `address` (None: SBTUI_SERVER, else the embedded
        local server). `clock` gives "now" for ages (fixed in rendering tests)."""
        super().__init__()
        self.client = client
        self._owns_client = client is None
        self._address, self._token = address, token
        self.address = client.address if client is not None else (address or "the local server")
        self.readonly = readonly
        self.clock = clock
        self.store = SandboxStore()
        self.keymap: dict[str, str] = {}
        self.keymap_problems: list[str] = []
        self.keymap_path = keymap_path or config_path()
        self._reconnect_delay = reconnect_delay
        self._flush_pending = False
        self.sessions = Sessions(on_change=self._sessions_changed, on_end=self._session_ended)
        self.create_draft: dict[str, str] | None = None  # the create form's text, kept by escape
        self.typeahead = TypeAhead(self)

    def on_mount(self) -> None:
        self.keymap, self.keymap_problems = load_keymap(self.keymap_path)
        if self.keymap:
            self.set_keymap(self.keymap)
        for problem in self.keymap_problems:
            self.notify(problem, title="keys.toml", severity="error", timeout=15)
        self.run_worker(self._follow(), name="watch", group="watch", exclusive=True)
        self.run_worker(self._follow_engine(), name="engine", group="engine", exclusive=True)

    async def on_event(self, event: events.Event) -> None:
        if not self.typeahead.keeps(event):  # what the terminal sends waits its turn
            await super().on_event(event)

    async def on_unmount(self) -> None:
        self.typeahead.close()
        await self.sessions.close_all()
        if self._owns_client and self.client is not None:
            await self.client.close()

    # ---- the watch ----------------------------------------------------------------------

    async def _connect(self) -> Client:
        attempt = 0
        while True:
            try:
                client = await Client.connect(self._address, self._token)
                self.address = client.address
                return client
            except SbtuiError as err:
                wait = self._reconnect_delay(attempt)
                attempt += 1
                self.connection = ConnectionStatus(False, str(err), attempt, self.connection.was_connected)
                await asyncio.sleep(wait)

    async def _follow(self) -> None:
        if self.client is None:
            self.client = await self._connect()
        follower = WatchFollower(
            self._watch, self.store, self._store_changed, self._status_changed, self._reconnect_delay
        )
        await follower.run()

    async def _watch(self, **options) -> AsyncIterator[SandboxEvent]:
        """The client's watch; after two failed tries, on a new client when we made the client.

        A new client runs `Client.connect` again, which starts the embedded local server anew if
        it is gone (the channel of the old client would only knock on a dead socket).
        """
        if self._owns_client and not self.connection.connected and self.connection.attempt >= 2:
            old, self.client = self.client, await self._connect()
            if old is not None:
                await old.close()
        async for event in self.connected_client().sandboxes.watch(**options):
            yield event

    async def _follow_engine(self) -> None:
        """Ask the server how its engine is doing, now and then: a restart of the engine shows
        no other way (the watch stream and the connection stay up)."""
        while True:
            if self.client is not None and self.connection.connected:
                try:
                    self.engine = await self.client.engine_status()
                except SbtuiError:
                    pass  # the connection banner tells of a server out of reach
            await asyncio.sleep(ENGINE_POLL)

    def _status_changed(self, status: ConnectionStatus) -> None:
        self.connection = status

    def _store_changed(self) -> None:
        # Events come in bursts; one flush per turn of the message loop handles the lot.
        if not self._flush_pending:
            self._flush_pending = True
            self.call_later(self._post_changes)

    def _post_changes(self) -> None:
        # Not `_flush`: that name is Textual's, called when captured output is flushed.
        self._flush_pending = False
        change = self.store.take_changes()
        if change:
            for screen in self.screen_stack:
                screen.post_message(SandboxesChanged(change))

    @staticmethod
    def settle_heap() -> None:
        """Take what is alive now out of the cyclic GC's sight; for after a (re)load.

        With thousands of sandboxes (and their cached row texts), each full collection walks them
        all: tens of ms that land in the middle of a keystroke. They hold no reference cycles, so
        reference counting still frees them when they are replaced. Unfreeze and collect first,
        so nothing that became garbage since the last load stays frozen for good.
        """
        gc.unfreeze()
        gc.collect()
        gc.freeze()

    # ---- screens ------------------------------------------------------------------------

    def pop_screen(self):
        """Also end the leaving screen's workers now. Textual ends them at its unmount, which
        comes only after its widgets are removed: a reply landing in between would find the
        screen half gone. Installed screens (shell sessions) live on, and so do their workers."""
        leaving = self.screen
        popped = super().pop_screen()
        if not self.is_screen_installed(leaving):
            self.workers.cancel_node(leaving)
        return popped

    # ---- helpers for screens ------------------------------------------------------------

    def snapshot_taken(self) -> None:
        """Tell the screens (a list of snapshots may be among them) that a new image exists."""
        for screen in self.screen_stack:
            screen.post_message(SnapshotTaken())

    def connected_client(self) -> Client:
        """The client; SbtuiError until there is one (the dashboard connects in the background)."""
        if self.client is None:
            raise SbtuiError("not connected to a server yet")
        return self.client

    async def sandbox(self, sandbox_id: str) -> Sandbox:
        return await self.connected_client().sandboxes.from_id(sandbox_id)

    def allows(self, action: str) -> bool:
        """False for actions that change sandboxes when the dashboard is read-only."""
        return not (self.readonly and action in WRITE_ACTIONS)

    def refuse_readonly(self, action: str) -> bool:
        """Tell the user and return True if `action` is refused by --readonly."""
        if self.allows(action):
            return False
        self.notify("the dashboard is read-only (--readonly)", severity="warning")
        return True

    def effective_keys(self, binding_id: str, default: str) -> str:
        return self.keymap.get(binding_id, default)

    # ---- command palette ----------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The screen's own actions (as its bindings offer them), then Textual's."""
        seen: set[str] = set()
        titles: set[str] = set()
        for key, active in screen.active_bindings.items():
            binding: Binding = active.binding
            if not active.enabled or not binding.id or binding.id in seen or binding.description in titles:
                continue
            if binding.id.startswith("table.") or binding.action == "command_palette":
                continue  # cursor moves and the palette itself are no use in the palette
            seen.add(binding.id)
            titles.add(binding.description)
            shown = self.get_key_display(Binding(key, binding.action))
            yield SystemCommand(
                binding.description,
                f"{shown}  ·  id {binding.id}",
                partial(self.run_action, binding.action, active.node),
            )
        for command in super().get_system_commands(screen):
            if command.title not in titles:  # Textual's own Quit duplicates ours
                yield command
