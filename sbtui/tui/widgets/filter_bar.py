"""FilterBar: the `/` prompt of the list, with the reason when a filter can't apply."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label, Static

from sbtui.tui.filters import FilterError, SandboxFilter, parse_filter

PLACEHOLDER = "app:NAME  node:NAME  tag:key=value  state:running  text…"


class FilterBar(Horizontal):
    """Shown while focused or holding a filter; posts `Changed` with each valid filter."""

    DEFAULT_CSS = """
    FilterBar {
        display: none;
        height: 1;
        background: $panel;
        &.-shown { display: block; }
        & > Label { width: auto; padding: 0 1; color: $text-accent; text-style: bold; }
        & > Input { border: none; height: 1; width: 1fr; padding: 0; background: $panel; }
        & > Input:focus { border: none; background-tint: $foreground 5%; }
        & > #filter-error { width: auto; max-width: 60%; padding: 0 1; color: $text-error; }
    }
    """

    class Changed(Message):
        def __init__(self, sandbox_filter: SandboxFilter) -> None:
            super().__init__()
            self.filter = sandbox_filter

    class Done(Message):
        """Enter in the prompt: back to the table (escape is the screen's key)."""

    def compose(self) -> ComposeResult:
        yield Label("/")
        yield Input(placeholder=PLACEHOLDER, id="filter-input", select_on_focus=False)
        yield Static("", id="filter-error")

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    @property
    def value(self) -> str:
        return self.input.value

    @value.setter
    def value(self, text: str) -> None:
        self.input.value = text
        self.input.cursor_position = len(text)
        self._shown()

    def open(self) -> None:
        self.add_class("-shown")
        self.input.focus()

    def _shown(self) -> None:
        self.set_class(bool(self.input.value) or self.input.has_focus, "-shown")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        error = self.query_one("#filter-error", Static)
        try:
            parsed = parse_filter(event.value)
        except FilterError as err:
            # Keep the last filter that made sense: a half-typed term changes nothing.
            error.update(Text(str(err)))
            return
        error.update("")
        self._shown()
        self.post_message(self.Changed(parsed))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Done())

    def on_descendant_blur(self) -> None:
        self._shown()
