"""SessionKeys: the keys that may follow the session key, shown while one is awaited."""

from __future__ import annotations

from rich.text import Text
from textual import getters
from textual.binding import Binding
from textual.geometry import Size
from textual.widget import Widget

from sbtui.tui.dashboard import Dashboard
from sbtui.tui.keymap import SESSION_KEYS, Key

SESSION_KEY, *COMMAND_KEYS = SESSION_KEYS
_BY_ID = {k.id: k for k in SESSION_KEYS}
_DIGITS = [k for k in COMMAND_KEYS if k.id.removeprefix("session.").isdigit()]


def key_names(app: Dashboard, key: Key) -> list[str]:
    """The keys `key` is bound to now (keys.toml included), as the footer shows them."""
    keys = app.effective_keys(key.id, key.keys).split(",")
    return [app.get_key_display(Binding(k, key.action)) for k in keys]


def key_name(app: Dashboard, binding_id: str) -> str:
    """The first key of the session binding `binding_id`, for hints."""
    return key_names(app, _BY_ID[binding_id])[0]


def matching(app: Dashboard, key: str, character: str | None) -> Key | None:
    """The command bound to the key pressed after the session key, if any.

    Bound keys are Textual names ("question_mark") or, as keys.toml allows, the character
    itself ("?").
    """
    for command in COMMAND_KEYS:
        for bound in app.effective_keys(command.id, command.keys).split(","):
            bound = bound.strip()
            if bound == key or (len(bound) == 1 and bound == character):
                return command
    return None


class SessionKeys(Widget):
    """Drawn over the terminal's last rows (never resizing it, which the program would feel)."""

    app = getters.app(Dashboard)

    DEFAULT_CSS = """
    SessionKeys {
        display: none;
        layer: overlay;
        dock: bottom;
        height: auto;
        padding: 0 1;
        background: $footer-background;
        color: $footer-description-foreground;
        &.-shown { display: block; }
        & > .session-keys--key { color: $footer-key-foreground; text-style: bold; }
        & > .session-keys--lead { color: $text-warning; text-style: bold; }
    }
    """
    COMPONENT_CLASSES = {"session-keys--key", "session-keys--lead"}

    def show(self, shown: bool) -> None:
        self.set_class(shown, "-shown")
        self.refresh(layout=True)

    def _items(self) -> list[Text]:
        """ "key description" for each command; the digits as one item."""
        app = self.app
        key_style = self.get_component_rich_style("session-keys--key")
        items = [
            Text(f"{key_name(app, SESSION_KEY.id)} then", self.get_component_rich_style("session-keys--lead"))
        ]
        for command in COMMAND_KEYS:
            if command in _DIGITS:
                if command is _DIGITS[0]:
                    first, last = key_names(app, _DIGITS[0])[0], key_names(app, _DIGITS[-1])[0]
                    items.append(Text.assemble((f"{first}…{last}", key_style), " Session N"))
                continue
            items.append(Text.assemble((key_names(app, command)[0], key_style), f" {command.description}"))
        return items

    def _lines(self, width: int) -> Text:
        """The items two cells apart, a new line wherever the next one would not fit whole
        (wrapping by words would split "Next" from "session")."""
        text = Text(no_wrap=True, overflow="ellipsis")
        column = 0
        for item in self._items():
            gap = 2 if column else 0
            if column and column + gap + item.cell_len > width:
                text.append("\n")
                column, gap = 0, 0
            text.append(" " * gap)
            text.append_text(item)
            column += gap + item.cell_len
        return text

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width).split("\n"))

    def render(self) -> Text:
        return self._lines(self.content_size.width)
