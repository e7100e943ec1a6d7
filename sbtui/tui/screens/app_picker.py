"""AppPicker: a fuzzy list of the apps that have sandboxes, to narrow the list to one."""

from __future__ import annotations

from collections import Counter

from textual.content import Content
from textual.fuzzy import Matcher
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from sbtui.tui.keymap import PICKER_KEYS
from sbtui.tui.screens.picker import Picker

ALL_APPS = ""  # the option that removes the app filter


class AppPicker(Picker[str]):
    """Dismisses with the app name, ALL_APPS for every app, or None when cancelled."""

    HELP_SECTIONS = (("Apps", PICKER_KEYS),)
    PROMPT = "Show the sandboxes of app…"
    KIND = "app"

    def __init__(self, apps: Counter[str], current: str | None) -> None:
        super().__init__()
        self.apps = apps
        self.current = current

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

    def _choose(self, option_id: str | None) -> None:
        self.dismiss(ALL_APPS if option_id == "\0all" else option_id)
