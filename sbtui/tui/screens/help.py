"""HelpScreen: every key of the screen it was opened from, with the id to remap it by."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual import getters
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Label, Static

from sbtui.tui.dashboard import Dashboard
from sbtui.tui.keymap import APP_KEYS, HELP_KEYS, Key, bindings


def _home_relative(path: Path) -> str:
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


class HelpScreen(ModalScreen[None]):
    app = getters.app(Dashboard)
    BINDINGS = bindings(HELP_KEYS)

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        # Each screen's key groups (not under HELP: Textual's help panel reads that as markdown).
        self.sections: tuple[tuple[str, tuple[Key, ...]], ...] = getattr(screen, "HELP_SECTIONS", ())
        # A screen whose keys go to a program (a shell) has none of the app's keys.
        if getattr(screen, "HELP_APP_KEYS", True):
            self.sections += (("Everywhere", APP_KEYS),)

    def _keys_shown(self, key: Key) -> str:
        keys = self.app.effective_keys(key.id, key.keys)
        return "  ".join(self.app.get_key_display(Binding(k, key.action)) for k in keys.split(","))

    def compose(self) -> ComposeResult:
        table = Table(box=None, padding=(0, 2), expand=True, show_edge=False)
        table.add_column("KEY", no_wrap=True, style="bold")
        table.add_column("ACTION")
        table.add_column("ID (keys.toml)", style="dim", no_wrap=True)
        for title, keys in self.sections:
            table.add_row(Text(title, style="bold underline"), "", "")
            for key in keys:
                action = Text(key.description)
                if not self.app.allows(key.action):
                    action.append("  (off: read-only)", style="italic dim")
                table.add_row(Text(self._keys_shown(key)), action, Text(key.id))
            table.add_row("", "", "")
        with Vertical(id="dialog", classes="-wide"):
            yield Label("Keys", id="dialog-title")
            yield Static(
                Text(f'Remap a key by its id in {_home_relative(self.app.keymap_path)}, e.g.  open = "o"'),
                id="help-hint",
            )
            with VerticalScroll(id="help-keys"):
                yield Static(table)
        yield Footer()

    def action_close(self) -> None:
        self.dismiss()
