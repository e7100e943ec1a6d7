"""Picker: a modal search box over a fuzzy-filtered option list; the base of the app and image
pickers. A subclass defines `_fill(query)`, which lists the options for what is typed, and
`_choose(option_id)`, which dismisses with what the chosen option stands for."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar, TypeVar

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, OptionList

from sbtui.tui.keymap import PICKER_KEYS, bindings

T = TypeVar("T")


class Picker(ModalScreen[T | None]):
    """Dismisses with what `_choose` makes of the option chosen, or None when cancelled."""

    BINDINGS = bindings(PICKER_KEYS)
    PROMPT: ClassVar[str] = ""
    PLACEHOLDER: ClassVar[str] = "type to search"
    KIND: ClassVar[str] = ""  # the ids: KIND-search and KIND-options
    DIALOG_CLASSES: ClassVar[str] = ""

    @abstractmethod
    def _fill(self, query: str) -> None: ...

    @abstractmethod
    def _choose(self, option_id: str | None) -> None: ...

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes=self.DIALOG_CLASSES):
            yield Label(self.PROMPT, id="dialog-title")
            yield Input(placeholder=self.PLACEHOLDER, id=f"{self.KIND}-search")
            yield OptionList(id=f"{self.KIND}-options")
        yield Footer()

    def on_mount(self) -> None:
        self._fill("")

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self._choose(options.get_option_at_index(options.highlighted).id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(event.option.id)

    def key_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def key_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def action_close(self) -> None:
        self.dismiss(None)
