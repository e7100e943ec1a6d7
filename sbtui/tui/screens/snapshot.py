"""SnapshotScreen: the image a snapshot made, and the offer to start a sandbox from it."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import getters
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, Static

from sbtui.client import Image
from sbtui.tui.dashboard import Dashboard
from sbtui.tui.keymap import SNAPSHOT_KEYS, bindings


class SnapshotScreen(ModalScreen[bool]):
    """Dismisses with True to start a sandbox from the image."""

    app = getters.app(Dashboard)
    BINDINGS = bindings(SNAPSHOT_KEYS)
    HELP_SECTIONS = (("Snapshot", SNAPSHOT_KEYS),)

    def __init__(self, sandbox_id: str, image: Image) -> None:
        super().__init__()
        self.sandbox_id = sandbox_id
        self.image = image

    def compose(self) -> ComposeResult:
        facts = Table.grid(padding=(0, 2))
        facts.add_column(style="dim")
        facts.add_column()
        facts.add_row("image id", Text(self.image.image_id or "-"))
        facts.add_row("tag", Text(self.image.tag or "-"))
        facts.add_row("source", Text(self.sandbox_id))
        with Vertical(id="dialog"):
            yield Label("Snapshot ready", id="dialog-title")
            yield Static(facts, id="dialog-body")
            yield Static(
                "Start a new sandbox from this image, with the same parameters as "
                f"{self.sandbox_id} (but no name, which must stay unique)?",
                id="snapshot-offer",
            )
            with Horizontal(id="dialog-buttons"):
                if self.app.allows("start"):
                    yield Button("Start a sandbox (enter)", variant="primary", id="start")
                yield Button("Close (esc)", id="close")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#dialog-buttons Button").focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.app.allows(action)

    def action_start(self) -> None:
        if not self.app.refuse_readonly("start"):
            self.dismiss(True)

    def action_close(self) -> None:
        self.dismiss(False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "start":
            self.action_start()
        else:
            self.action_close()
