"""SessionsScreen: the running shell sessions, to go back into one."""

from __future__ import annotations

from textual import getters
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, OptionList
from textual.widgets.option_list import Option

from sbtui.tui.dashboard import Dashboard
from sbtui.tui.keymap import PICKER_KEYS, bindings


class SessionsScreen(ModalScreen[int | None]):
    """Dismisses with the number of the chosen session, or None."""

    app = getters.app(Dashboard)
    BINDINGS = bindings(PICKER_KEYS)
    HELP_SECTIONS = (("Sessions", PICKER_KEYS),)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Shell sessions", id="dialog-title")
            yield OptionList(id="session-options")
        yield Footer()

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        for session in self.app.sessions.items:
            options.add_option(
                Option(f"{session.number}  {session.label}  {session.status()}", id=str(session.number))
            )
        if options.option_count:
            options.highlighted = 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if (number := event.option.id) is not None:  # each option's id is its session's number
            self.dismiss(int(number))

    def action_close(self) -> None:
        self.dismiss(None)
