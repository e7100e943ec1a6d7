"""SnapshotTable: a row-cursor DataTable moved by the same keys (and ids) as the sandbox table.

A DataTable is enough here: snapshots are few and change only when the screen loads them.
"""

from __future__ import annotations

from rich.style import Style
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from sbtui.tui.keymap import TABLE_KEYS, bindings

_STATES = ("running", "creating", "terminating", "finished", "failed", "unknown")


class SnapshotTable(DataTable, inherit_bindings=False):
    DEFAULT_CSS = """
    SnapshotTable {
        height: auto;
        max-height: 1fr;
        background: $surface;
        & > .datatable--header { background: $panel; color: $text-primary; text-style: bold; }
        & > .snapshot-table--running { color: $text-success; }
        & > .snapshot-table--creating { color: $text-warning; }
        & > .snapshot-table--terminating { color: $text-warning; }
        & > .snapshot-table--finished { color: $text-muted; }
        & > .snapshot-table--failed { color: $text-error; }
        & > .snapshot-table--unknown { color: $text-muted; }
        & > .snapshot-table--dim { color: $text-muted; }
    }
    """
    COMPONENT_CLASSES = DataTable.COMPONENT_CLASSES | {
        *(f"snapshot-table--{name}" for name in _STATES),
        "snapshot-table--dim",
    }
    # Not DataTable's keys: enter is the screen's (start a sandbox), and j/k/g/G and any
    # remapping in keys.toml should work as in the sandbox list.
    BINDINGS = bindings(TABLE_KEYS)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor (the image id), if there are rows."""
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def select(self, key: str) -> bool:
        """Put the cursor on the row with `key`; False if there is none."""
        try:
            self.move_cursor(row=self.get_row_index(key), animate=False)
        except RowDoesNotExist:
            return False
        return True

    def style(self, name: str) -> Style:
        """The look of a cell: a state ("running", "failed"… as `columns.state_style` names
        them) or "dim"."""
        # The colour alone: a cell's own background would cover the cursor row's.
        return Style.from_color(self.get_component_rich_style(f"snapshot-table--{name}").color)

    def action_cursor(self, step: int) -> None:
        self.move_cursor(row=self.cursor_row + step, animate=False)

    def action_page(self, direction: int) -> None:
        if direction < 0:
            self.action_page_up()
        else:
            self.action_page_down()

    def action_edge(self, end: int) -> None:
        self.move_cursor(row=self.row_count - 1 if end else 0, animate=False)

    def action_pan(self, cells: int) -> None:
        self.scroll_relative(x=cells, animate=False)
