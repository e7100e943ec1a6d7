"""ConnectionBanner: a line that says the server is out of reach and that we are retrying."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from sbtui.tui.state import ConnectionStatus


class ConnectionBanner(Static):
    """Follows the app's `connection` reactive; hidden while connected or first connecting."""

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
        self.watch(self.app, "connection", self._show, init=True)

    def _show(self, status: ConnectionStatus) -> None:
        if status.connected or not status.error:
            self.remove_class("-shown")
            return
        lead = "connection lost, reconnecting…" if status.was_connected else "cannot reach the server, retrying…"
        self.update(Text(f"{lead} (attempt {status.attempt}): {status.error}"))
        self.add_class("-shown")
