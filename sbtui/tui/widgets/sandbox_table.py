"""SandboxTable: the sandbox list's table, drawn line by line from `SandboxRows`.

Not a DataTable: DataTable versions its caches with one counter for the whole table, so a single
changed cell re-renders every visible cell (~80 ms at 160x50 with 10,000 rows, measured here),
and adding 10,000 rows measures every cell (~2 s). This table renders only the lines on screen,
caches each row's strip by the identity of its SandboxInfo (a new event brings a new object), and
takes its order from `SandboxRows`, so an event or a filter keystroke costs what changed plus one
screenful. The cursor follows a sandbox id, not a position, so the selection survives updates.
"""

from __future__ import annotations

import time
from typing import Callable

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from sbtui.client import SandboxInfo
from sbtui.printable import printable
from sbtui.tui.columns import Column, shown_columns, state_style
from sbtui.tui.keymap import TABLE_KEYS, bindings
from sbtui.tui.rows import SandboxRows

_PAD = 1  # blank cells each side of a column
_STATE_CLASSES = ("running", "creating", "terminating", "finished", "failed", "unknown")


def _fit(text: str, width: int, right: bool) -> str:
    """`text` cut (with an ellipsis) or padded to exactly `width` cells."""
    length = len(text) if text.isascii() else cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else text[:width]
    pad = " " * (width - length)
    return pad + text if right else text + pad


class SandboxTable(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    SandboxTable {
        background: $surface;
        height: 1fr;
        & > .sandbox-table--header { background: $panel; color: $text-primary; text-style: bold; }
        & > .sandbox-table--sorted { background: $panel; color: $text-accent; text-style: bold underline; }
        & > .sandbox-table--cursor { background: $block-cursor-blurred-background; text-style: bold; }
        &:focus > .sandbox-table--cursor {
            background: $block-cursor-background; color: $block-cursor-foreground;
        }
        & > .sandbox-table--dim { color: $text-muted; }
        & > .sandbox-table--empty { color: $text-muted; text-style: italic; }
        & > .sandbox-table--running { color: $text-success; }
        & > .sandbox-table--creating { color: $text-warning; }
        & > .sandbox-table--terminating { color: $text-warning; }
        & > .sandbox-table--finished { color: $text-muted; }
        & > .sandbox-table--failed { color: $text-error; }
        & > .sandbox-table--unknown { color: $text-muted; }
    }
    """
    COMPONENT_CLASSES = {
        "sandbox-table--header",
        "sandbox-table--sorted",
        "sandbox-table--cursor",
        "sandbox-table--dim",
        "sandbox-table--empty",
        *(f"sandbox-table--{name}" for name in _STATE_CLASSES),
    }
    BINDINGS = bindings(TABLE_KEYS)

    class _TableMessage(Message):
        def __init__(self, table: "SandboxTable") -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> "SandboxTable":
            return self.table

    class Highlighted(_TableMessage):
        """The cursor is on another sandbox (or on none: an empty table)."""

        def __init__(self, table: "SandboxTable", sandbox_id: str | None) -> None:
            super().__init__(table)
            self.sandbox_id = sandbox_id

    class Selected(_TableMessage):
        """A sandbox was chosen: enter, or a click on the row under the cursor."""

        def __init__(self, table: "SandboxTable", sandbox_id: str) -> None:
            super().__init__(table)
            self.sandbox_id = sandbox_id

    class HeaderClicked(_TableMessage):
        def __init__(self, table: "SandboxTable", column: str) -> None:
            super().__init__(table)
            self.column = column

    def __init__(
        self,
        rows: SandboxRows,
        *,
        clock: Callable[[], float] = time.time,
        columns: tuple[Column, ...] = shown_columns(nodes=1),
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.rows = rows
        self.clock = clock
        self.columns = columns
        self.selected_id: str | None = None
        self.cursor = 0
        self.empty_text = ""
        # Room for the label and the sort arrow after it.
        self._widths = {c.key: max(c.width, len(c.label) + 2) for c in columns}
        self._strips: LRUCache[tuple, Strip] = LRUCache(2048)
        self._cells: dict[str, tuple[SandboxInfo, int, list[str]]] = {}
        self._versions = 0
        self._styles: dict[str, Style] = {}

    # ---- data ---------------------------------------------------------------------------

    def _texts(self, info: SandboxInfo, now: float) -> tuple[int, list[str]]:
        """(version, cell texts) of a row. Texts are cached per info object (an event brings a
        new one), all but the clock-driven ones; the version names that object in strip cache
        keys, where id(info) could be reused by a later object."""
        cached = self._cells.get(info.sandbox_id)
        if cached is None or cached[0] is not info:
            self._versions += 1
            # Names, images and tags are a tenant's: their control characters are drawn escaped.
            cached = (info, self._versions, [printable(c.text(info, now)) for c in self.columns])
            self._cells[info.sandbox_id] = cached
        texts = cached[2]
        for i, column in enumerate(self.columns):
            if column.timely:
                texts[i] = printable(column.text(info, now))
        return cached[1], texts

    def set_columns(self, columns: tuple[Column, ...]) -> None:
        """Draw these columns from now on; those kept keep the width they grew to. Measure the
        rows again, then `rows_changed`."""
        self.columns = columns
        self._widths = {c.key: self._widths.get(c.key, max(c.width, len(c.label) + 2)) for c in columns}
        self._cells.clear()
        self._strips.clear()

    def forget(self, alive) -> None:
        """Drop cached rows of sandboxes not in `alive` (after the store was rebuilt)."""
        self._cells = {k: v for k, v in self._cells.items() if k in alive}

    def measure(self, infos) -> None:
        """Let columns grow (up to their maximum) to fit these sandboxes' texts."""
        now = self.clock()
        widths = self._widths
        grew = False
        for info in infos:
            for column, text in zip(self.columns, self._texts(info, now)[1]):
                if widths[column.key] < column.max_width:
                    length = len(text) if text.isascii() else cell_len(text)
                    if length > widths[column.key]:
                        widths[column.key] = min(length, column.max_width)
                        grew = True
        if grew:
            self._strips.clear()

    def rows_changed(self) -> None:
        """`rows` changed (order, filter, content): keep the cursor on its sandbox and redraw."""
        count = len(self.rows)
        old_cursor, old_scroll = self.cursor, int(self.scroll_y)
        index = self.rows.index_of(self.selected_id) if self.selected_id else None
        if index is None:
            index = min(old_cursor, count - 1)
        self.cursor = max(index, 0)
        width = sum(self._widths.values()) + 2 * _PAD * len(self.columns)
        self.virtual_size = Size(width, count + 1)
        if count and old_cursor - old_scroll >= 0:
            # Keep the selected row where it was on screen while rows come and go above it.
            self.scroll_to(y=max(0, self.cursor - (old_cursor - old_scroll)), animate=False, immediate=True)
        self._scroll_cursor_into_view()
        self._set_selected(self.rows.id_at(self.cursor) if count else None)
        self.refresh()

    def _set_selected(self, sandbox_id: str | None) -> None:
        if sandbox_id != self.selected_id:
            self.selected_id = sandbox_id
            self.post_message(self.Highlighted(self, sandbox_id))

    def select(self, sandbox_id: str) -> bool:
        """Put the cursor on `sandbox_id`; False if it is not among the rows."""
        index = self.rows.index_of(sandbox_id)
        if index is None:
            return False
        self._move_to(index)
        return True

    # ---- cursor -------------------------------------------------------------------------

    @property
    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def _move_to(self, index: int) -> None:
        count = len(self.rows)
        if not count:
            return
        self.cursor = max(0, min(index, count - 1))
        self._set_selected(self.rows.id_at(self.cursor))
        self._scroll_cursor_into_view()
        self.refresh()

    def _scroll_cursor_into_view(self) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)  # minus the header
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * self._page)

    def action_edge(self, end: int) -> None:
        self._move_to(len(self.rows) - 1 if end else 0)

    def action_pan(self, delta: int) -> None:
        self.scroll_to(x=self.scroll_x + delta, animate=False)

    def column_span(self, key: str) -> tuple[int, int]:
        """The cells (start, end) that column `key` takes, before horizontal scrolling."""
        left = 0
        for column in self.columns:
            right = left + self._widths[column.key] + 2 * _PAD
            if column.key == key:
                return left, right
            left = right
        raise KeyError(key)

    def _column_at(self, x: int) -> str | None:
        for column in self.columns:
            start, end = self.column_span(column.key)
            if start <= x < end:
                return column.key
        return None

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self._column_at(offset.x + int(self.scroll_x))
            if column:
                self.post_message(self.HeaderClicked(self, column))
            return
        index = int(self.scroll_y) + offset.y - 1
        if 0 <= index < len(self.rows):
            again = index == self.cursor
            self._move_to(index)
            if again or event.chain > 1:
                self.post_message(self.Selected(self, self.rows.id_at(index)))

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self.scroll_to(y=self.scroll_y + 3, animate=False)
        event.stop()

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.scroll_to(y=self.scroll_y - 3, animate=False)
        event.stop()

    def on_resize(self) -> None:
        self._scroll_cursor_into_view()

    # ---- drawing ------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._strips.clear()

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(f"sandbox-table--{name}")
        return style

    def _header_strip(self) -> Strip:
        key = ("header", self.rows.sort_column.key, self.rows.reverse)
        strip = self._strips.get(key)
        if strip is None:
            segments = []
            for column in self.columns:
                label = column.label
                sorted_here = column is self.rows.sort_column
                if sorted_here:
                    label += " ▼" if self.rows.reverse else " ▲"
                text = " " * _PAD + _fit(label, self._widths[column.key], column.right) + " " * _PAD
                segments.append(Segment(text, self._style("sorted" if sorted_here else "header")))
            strip = self._strips[key] = Strip(segments)
        return strip

    def _row_strip(self, index: int, now: float) -> Strip:
        sandbox_id = self.rows.id_at(index)
        info = self.rows.store.sandboxes[sandbox_id]
        is_cursor = index == self.cursor
        clock_part = int(now) if any(c.timely for c in self.columns) else 0
        version, texts = self._texts(info, now)
        key = (sandbox_id, version, is_cursor, self.has_focus, clock_part)
        strip = self._strips.get(key)
        if strip is not None:
            return strip
        state_class = state_style(info)
        cursor_style = self._style("cursor") if is_cursor else None
        segments = []
        for column, text in zip(self.columns, texts):
            if column.key == "state":
                style = self._style(state_class if state_class in _STATE_CLASSES else "unknown")
            elif text == "-":
                style = self._style("dim")
            else:
                style = Style.null()
            if cursor_style is not None:
                style = style + cursor_style
            cell = " " * _PAD + _fit(text, self._widths[column.key], column.right) + " " * _PAD
            segments.append(Segment(cell, style))
        strip = self._strips[key] = Strip(segments)
        return strip

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            strip = self._header_strip()
            fill = self._style("header")
        else:
            index = scroll_y + y - 1
            if index < len(self.rows):
                strip = self._row_strip(index, self.clock())
                fill = self._style("cursor") if index == self.cursor else base
            elif y == 2 and not len(self.rows) and self.empty_text:
                return Strip([Segment(" " * (_PAD + 1) + self.empty_text, self._style("empty"))]).crop_extend(
                    0, width, base
                )
            else:
                return Strip.blank(width, base)
        return strip.crop_extend(scroll_x, scroll_x + width, base + fill).apply_style(base)
