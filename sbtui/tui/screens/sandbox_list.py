"""SandboxListScreen: every sandbox, live from the watch stream; filter, sort, open, act."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from sbtui.printable import printable
from sbtui.tui.columns import shown_columns
from sbtui.tui.filters import named_apps, with_app
from sbtui.tui.keymap import LIST_KEYS, TABLE_KEYS, bindings
from sbtui.tui.messages import SandboxesChanged
from sbtui.tui.rows import SandboxRows
from sbtui.tui.screens.sandbox_actions import SandboxActions
from sbtui.tui.widgets.connection_banner import ConnectionBanner
from sbtui.tui.widgets.filter_bar import FilterBar
from sbtui.tui.widgets.sandbox_table import SandboxTable
from sbtui.tui.widgets.status_bar import StatusBar


class SandboxListScreen(SandboxActions, Screen):
    BINDINGS = bindings(LIST_KEYS)
    HELP_SECTIONS = (("Sandbox list", LIST_KEYS), ("Table", TABLE_KEYS))
    AUTO_FOCUS = "SandboxTable"

    def __init__(self) -> None:
        super().__init__(id="sandbox-list")
        self.rows: SandboxRows  # made in compose, from the app's store
        self._select_when_seen: str | None = None
        self._offered: frozenset[str] | None = None
        # The nodes the known sandboxes are on: NODE is shown from two on (columns.shown_columns).
        # Only added to between reloads, so the column does not come and go as sandboxes do.
        self._node_names: set[str] = set()

    def compose(self) -> ComposeResult:
        self.rows = SandboxRows(self.app.store)
        yield StatusBar(id="status-bar")
        yield ConnectionBanner()
        yield FilterBar(id="filter-bar")
        yield SandboxTable(self.rows, clock=self.app.clock, id="sandboxes")
        yield Footer()

    @property
    def table(self) -> SandboxTable:
        return self.query_one(SandboxTable)

    def on_mount(self) -> None:
        # Ages tick; the table redraws only its visible rows.
        self.set_interval(1.0, self.table.refresh)
        self.watch(self.app, "engine", lambda _: self._show_status(), init=False)
        self._reload(reset=True)

    def target_sandbox_id(self) -> str | None:
        return self.table.selected_id

    def on_sandbox_table_highlighted(self) -> None:
        self._follow_offered_actions()

    def _follow_offered_actions(self) -> None:
        # Only when they change, not on every event: each refresh rebuilds the footer's widgets.
        offered = self.offered_actions()
        if offered != self._offered:
            self._offered = offered
            self.refresh_bindings()

    # ---- following the store ------------------------------------------------------------

    def on_sandboxes_changed(self, message: SandboxesChanged) -> None:
        change = message.change
        store = self.app.store
        if change.reset:
            self._reload(reset=True)
            return
        infos = [store.sandboxes[i] for i in change.ids if i in store.sandboxes]
        known = len(self._node_names)
        self._node_names.update(info.node for info in infos if info.node)
        if len(self._node_names) != known and self._show_columns():
            self.table.measure(store.sandboxes.values())
        else:
            self.table.measure(infos)
        self.rows.update(change.ids)
        self._refresh_view()

    def _reload(self, reset: bool) -> None:
        if reset:
            self._node_names = {info.node for info in self.app.store.sandboxes.values() if info.node}
            self._show_columns()
            self.table.forget(self.app.store.sandboxes)
            self.table.measure(self.app.store.sandboxes.values())
            self.rows.prepare()
        self.rows.rebuild()
        self._refresh_view()
        if reset:
            self.app.settle_heap()

    def _show_columns(self) -> bool:
        """Whether the table's columns changed for the nodes seen (measure all rows then)."""
        columns = shown_columns(len(self._node_names))
        if columns == self.table.columns:
            return False
        self.table.set_columns(columns)
        if self.rows.sort_column not in columns:
            self.rows.set_sort("age", False)
        return True

    def _refresh_view(self) -> None:
        table, store = self.table, self.app.store
        if self._select_when_seen and table.select(self._select_when_seen):
            self._select_when_seen = None
        table.rows_changed()
        self._follow_offered_actions()
        if not store.synced and not store.sandboxes:
            table.empty_text = "connecting to the server…"
        elif not store.sandboxes:
            table.empty_text = "no sandboxes yet"
        elif self.rows.filter.nodes and not self.rows.filter.nodes & self._node_names:
            # `node:` named no node there is: say which there are (`node:22-alpine` was an image?)
            asked = ", ".join(sorted(self.rows.filter.nodes))
            known = ", ".join(sorted(self._node_names)) or "none yet"
            table.empty_text = printable(
                f"no sandbox is on node {asked}; nodes: {known} (esc clears the filter)"
            )
        else:
            table.empty_text = "no sandbox matches the filter (esc clears it)"
        self._show_status()

    def _show_status(self) -> None:
        store = self.app.store
        shown = None if self.rows.filter.empty else len(self.rows)
        self.query_one(StatusBar).show(
            self.app.address, self.app.readonly, store.counts, shown, store.synced, self.app.engine
        )

    def select_sandbox(self, sandbox_id: str) -> None:
        """Put the cursor on `sandbox_id` now, or as soon as the watch stream brings it."""
        if not self.table.select(sandbox_id):
            self._select_when_seen = sandbox_id

    # ---- filter -------------------------------------------------------------------------

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    def on_filter_bar_changed(self, message: FilterBar.Changed) -> None:
        self.rows.set_filter(message.filter)
        self._refresh_view()

    def on_filter_bar_done(self) -> None:
        self.table.focus()

    def action_clear_filter(self) -> None:
        bar = self.query_one(FilterBar)
        if bar.input.has_focus:
            self.table.focus()  # escape leaves the prompt and keeps what was typed
        elif bar.value:
            bar.value = ""

    def action_create(self) -> None:
        """The create form: the draft left by escape if any, else empty but for the app shown."""
        if self.app.refuse_readonly("create"):
            return
        apps = sorted(named_apps(self.query_one(FilterBar).value))
        self.app.open_create({"app": apps[0]} if len(apps) == 1 else {})

    def action_apps(self) -> None:
        current = sorted(named_apps(self.query_one(FilterBar).value))
        self.app.pick_app(current[0] if len(current) == 1 else None, self._app_chosen)

    def _app_chosen(self, app_name: str | None) -> None:
        if app_name is None:
            return
        bar = self.query_one(FilterBar)
        bar.value = with_app(bar.value, app_name or None)
        self.table.focus()

    # ---- sort, open ---------------------------------------------------------------------

    def action_sort(self, column: str) -> None:
        rows = self.rows
        reverse = not rows.reverse if rows.sort_column.key == column else False
        rows.set_sort(column, reverse)
        self._refresh_view()

    def action_sort_next(self) -> None:
        keys = [c.key for c in self.table.columns]
        following = keys[(keys.index(self.rows.sort_column.key) + 1) % len(keys)]
        self.rows.set_sort(following, False)
        self._refresh_view()

    def action_sort_reverse(self) -> None:
        self.rows.set_sort(self.rows.sort_column.key, not self.rows.reverse)
        self._refresh_view()

    def on_sandbox_table_header_clicked(self, message: SandboxTable.HeaderClicked) -> None:
        self.action_sort(message.column)

    def action_open(self) -> None:
        if (sandbox_id := self._target()) is not None:
            self._open(sandbox_id)

    def on_sandbox_table_selected(self, message: SandboxTable.Selected) -> None:
        self._open(message.sandbox_id)

    def _open(self, sandbox_id: str) -> None:
        self.app.show_sandbox(sandbox_id)

    def action_snapshots(self) -> None:
        self.app.show_snapshots()
