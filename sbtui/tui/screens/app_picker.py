"""AppPicker: a fuzzy list of the apps that have sandboxes, to narrow the list to one."""

from __future__ import annotations

from collections import Counter

from textual.app import ComposeResult
from textual.content import Content
from textual.containers import Vertical
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, OptionList
from textual.widgets.option_list import Option

from sbtui.tui.keymap import PICKER_KEYS, bindings

ALL_APPS = ""  # the option that removes the app filter


class AppPicker(ModalScreen[str | None]):
    """Dismisses with the app name, ALL_APPS for every app, or None when cancelled."""

    BINDINGS = bindings(PICKER_KEYS)
    HELP = (("Apps", PICKER_KEYS),)

    def __init__(self, apps: Counter[str], current: str | None) -> None:
        super().__init__()
        self.apps = apps
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Show the sandboxes of app…", id="dialog-title")
            yield Input(placeholder="type to search", id="app-search")
            yield OptionList(id="app-options")
        yield Footer()

    def on_mount(self) -> None:
        self._fill("")

    def _fill(self, query: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        matcher = Matcher(query) if query else None
        found: list[tuple[float, str]] = []
        for name in self.apps:
            score = matcher.match(name) if matcher else 1.0
            if score > 0:
                found.append((score, name))
        found.sort(key=lambda item: (-item[0], item[1]))
        if not query:
            options.add_option(Option(Content.styled("all apps", "italic"), id="\0all"))
        for _, name in found:
            label = matcher.highlight(name) if matcher else Content(name)
            label = label.append_text(f"  {self.apps[name]} sandbox(es)", "dim")
            if name == self.current:
                label = label.append_text("  (shown)", "dim italic")
            options.add_option(Option(label, id=name))
        if options.option_count:
            options.highlighted = 0

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self._choose(options.get_option_at_index(options.highlighted).id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(event.option.id)

    def _choose(self, option_id: str | None) -> None:
        self.dismiss(ALL_APPS if option_id == "\0all" else option_id)

    def key_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def key_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def action_close(self) -> None:
        self.dismiss(None)
