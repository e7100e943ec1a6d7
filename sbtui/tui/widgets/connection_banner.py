"""ConnectionBanner: a line that says the server is out of reach and that we are retrying, or
that the server's container engine is (so creates and execs are refused for now)."""

from __future__ import annotations

from rich.text import Text
from textual import getters
from textual.widgets import Static

from sbtui.client import EngineState
from sbtui.tui.dashboard import Dashboard


class ConnectionBanner(Static):
    """Follows the app's `connection` and `engine` reactives; hidden while both are well (or
    while first connecting)."""

    app = getters.app(Dashboard)

    DEFAULT_CSS = """
    ConnectionBanner {
        display: none;
        height: auto;
        padding: 0 1;
        background: $error-muted;
        color: $text;
        text-style: bold;
        &.-shown { display: block; }
    }
    """

    def on_mount(self) -> None:
        self.watch(self.app, "connection", lambda _: self._show(), init=True)
        self.watch(self.app, "engine", lambda _: self._show(), init=False)

    def _show(self) -> None:
        status, engine = self.app.connection, self.app.engine
        if not status.connected and status.error:
            lead = (
                "connection lost, reconnecting…"
                if status.was_connected
                else "cannot reach the server, retrying…"
            )
            self.update(Text(f"{lead} (attempt {status.attempt}): {status.error}"))
        elif (
            status.connected
            and engine is not None
            and engine.state in (EngineState.RESTARTING, EngineState.DOWN)
        ):
            self.update(
                Text(
                    f"container engine {engine.engine} {engine.summary()}: {engine.last_error}; "
                    "creates and execs are refused until it is back"
                )
            )
        else:
            self.remove_class("-shown")
            return
        self.add_class("-shown")
