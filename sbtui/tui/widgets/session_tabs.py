"""SessionTabs: the top line of a shell screen: a tab per session, and how to move between them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import getters
from textual.reactive import reactive
from textual.widget import Widget

from sbtui.tui.dashboard import Dashboard
from sbtui.tui.widgets.session_keys import key_name

if TYPE_CHECKING:
    from sbtui.tui.sessions import Session

_MORE = 2  # cells for "‹ " or " ›" where tabs are left out


def visible(widths: list[int], current: int, room: int) -> range:
    """Which tabs fit in `room` cells (a cell between tabs), always the current one, growing
    to both sides of it in turn."""
    if sum(widths) + len(widths) - 1 <= room:
        return range(len(widths))
    room -= 2 * _MORE
    lo = hi = current
    used = widths[current]
    grew = True
    while grew:
        grew = False
        for i in (hi + 1, lo - 1):
            if 0 <= i < len(widths) and used + 1 + widths[i] <= room:
                used += 1 + widths[i]
                lo, hi = min(lo, i), max(hi, i)
                grew = True
    return range(lo, hi + 1)


class SessionTabs(Widget):
    app = getters.app(Dashboard)

    DEFAULT_CSS = """
    SessionTabs {
        height: 1;
        padding: 0 1 0 0;
        background: $panel;
        color: $text-muted;
        & > .session-tabs--current { background: $primary; color: $text; text-style: bold; }
        & > .session-tabs--failed { color: $text-error; }
        & > .session-tabs--exited { color: $text-muted; }
        & > .session-tabs--hint { color: $text-muted; }
        & > .session-tabs--pending { color: $text-warning; text-style: bold; }
    }
    """
    COMPONENT_CLASSES = {
        "session-tabs--current",
        "session-tabs--failed",
        "session-tabs--exited",
        "session-tabs--hint",
        "session-tabs--pending",
    }

    pending: reactive[bool] = reactive(False)
    """The session key was pressed and the key after it is awaited."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.current: Session | None = None

    def _tab(self, session: "Session") -> Text:
        style = self.get_component_rich_style
        # The current tab's look is the base, so an exit marker keeps its own colour on it.
        tab = Text(
            f" {session.number} {session.tab_label}",
            style("session-tabs--current") if session is self.current else "",
        )
        if session.ended:
            failed = bool(session.error) or session.exit_code != 0
            marker = " ended" if session.error else f" exit {session.exit_code}"
            tab.append(marker, style("session-tabs--failed" if failed else "session-tabs--exited"))
        tab.append(" ")
        return tab

    def _hint(self) -> Text:
        app, style = self.app, self.get_component_rich_style
        lead = key_name(app, "session.key")
        if self.pending:
            return Text(f"{lead} … waiting for a session key", style("session-tabs--pending"))
        return Text(
            f"{lead} then {key_name(app, 'session.next')}/{key_name(app, 'session.previous')} switch · "
            f"{key_name(app, 'session.detach')} back to the list · {key_name(app, 'session.help')} keys",
            style("session-tabs--hint"),
        )

    def render(self) -> Text:
        sessions = self.app.sessions.items
        hint = self._hint()
        tabs = [self._tab(s) for s in sessions]
        current = sessions.index(self.current) if self.current in sessions else 0
        room = self.content_size.width - hint.cell_len - 2
        shown = visible([t.cell_len for t in tabs], current, room) if tabs else range(0)
        line = Text(no_wrap=True, overflow="ellipsis")
        if shown and shown.start > 0:
            line.append("‹ ")
        for i in shown:
            if i != shown.start:
                line.append("│", self.get_component_rich_style("session-tabs--hint"))
            line.append_text(tabs[i])
        if shown and shown.stop < len(tabs):
            line.append(" ›")
        gap = max(2, self.content_size.width - line.cell_len - hint.cell_len)
        line.append(" " * gap)
        line.append_text(hint)
        return line
