"""SnapshotsScreen: the images snapshots made, newest first; start a sandbox from one.

Images have no watch stream, so the list is loaded when the screen is shown, on `r`, and when a
snapshot is taken in the dashboard. The source sandboxes' names, apps and states come from the
store (live); sources the store lacks are asked for once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.text import Text
from textual import getters, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static

from sbtui.client import Image, NotFoundError, SandboxInfo, SbtuiError
from sbtui.text import age, size_text, state_text
from sbtui.tui.columns import state_style
from sbtui.tui.dashboard import Dashboard
from sbtui.tui.keymap import SNAPSHOTS_KEYS, TABLE_KEYS, bindings
from sbtui.tui.messages import SandboxesChanged, SnapshotTaken
from sbtui.tui.widgets.snapshot_table import SnapshotTable

AGE_TICK = 10.0  # seconds between redraws of the AGE column
COLUMNS = (
    ("image", "IMAGE ID"),
    ("source", "SOURCE SANDBOX"),
    ("name", "NAME"),
    ("app", "APP"),
    ("state", "SOURCE STATE"),
    ("taken", "TAKEN (UTC)"),
    ("age", "AGE"),
    ("size", "SIZE"),
)
_RIGHT = {"age", "size"}  # numbers line up on their last digit


def stamp(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at)) if at else "-"


@dataclass(frozen=True)
class SnapshotRow:
    image: Image
    source: SandboxInfo | None  # None: gone, or not known yet
    gone: bool = False

    @property
    def image_id(self) -> str:
        return self.image.image_id or ""

    def matches(self, text: str) -> bool:
        """Free text over image id, tag, source id, its name and app (any case)."""
        if not text:
            return True
        fields = [self.image_id, self.image.tag, self.image.source_sandbox_id]
        if self.source is not None:
            fields += [self.source.name, self.source.app_name]
        return text.lower() in " ".join(fields).lower()


class SnapshotsScreen(Screen):
    app = getters.app(Dashboard)
    BINDINGS = bindings(SNAPSHOTS_KEYS)
    HELP_SECTIONS = (("Snapshots", SNAPSHOTS_KEYS), ("Table", TABLE_KEYS))
    AUTO_FOCUS = "SnapshotTable"

    def __init__(self) -> None:
        super().__init__(id="snapshots")
        self.images: list[Image] = []
        self.loaded = False
        self.problem = ""
        self._fetched: dict[str, SandboxInfo | None] = {}  # sources the store lacks; None: gone
        self._rows: list[SnapshotRow] = []  # as shown

    def compose(self) -> ComposeResult:
        yield Static(id="snapshots-title")
        with Horizontal(id="snapshots-filter"):
            yield Label("/")
            yield Input(
                placeholder="text in the image id, source sandbox, its name or app",
                id="snapshots-filter-input",
                select_on_focus=False,
            )
        table = SnapshotTable(id="snapshots-table")
        for key, label in COLUMNS:
            table.add_column(Text(label, justify="right" if key in _RIGHT else "left"), key=key)
        yield table
        yield Static(id="snapshots-empty")
        yield Footer()

    @property
    def table(self) -> SnapshotTable:
        return self.query_one(SnapshotTable)

    @property
    def filter_text(self) -> str:
        return self.query_one("#snapshots-filter-input", Input).value.strip()

    def on_mount(self) -> None:
        self.set_interval(AGE_TICK, self._tick_ages)
        self._show()

    def on_screen_resume(self) -> None:
        if self.is_current:  # not when it was popped again before the resume arrived
            self.load()

    def on_snapshot_taken(self, message: SnapshotTaken) -> None:
        self.load()

    def on_sandboxes_changed(self, message: SandboxesChanged) -> None:
        sources = {image.source_sandbox_id for image in self.images}
        if message.change.reset or sources & set(message.change.ids):
            self._show()

    # ---- loading and showing ------------------------------------------------------------

    @work(group="load", exclusive=True)
    async def load(self) -> None:
        client = self.app.client
        if client is None:
            self.problem = "not connected to a server yet"
            self._show()
            return
        try:
            images = await client.images.list(snapshots_only=True)
        except SbtuiError as err:
            self.problem = f"could not list the snapshots: {err}"
            self._show()
            return
        self.problem = ""
        store = self.app.store
        for source_id in {image.source_sandbox_id for image in images}:
            if store.get(source_id) is None and source_id not in self._fetched:
                try:
                    self._fetched[source_id] = (await client.sandboxes.from_id(source_id)).info
                except NotFoundError:
                    self._fetched[source_id] = None
                except SbtuiError:
                    pass  # not known this time; the row says so and the next load asks again
        self.images = sorted(images, key=lambda i: i.created_at, reverse=True)
        self.loaded = True
        self._show()

    def rows(self) -> list[SnapshotRow]:
        store, text = self.app.store, self.filter_text
        made = []
        for image in self.images:
            source_id = image.source_sandbox_id
            source = store.get(source_id) or self._fetched.get(source_id)
            gone = source is None and source_id in self._fetched
            row = SnapshotRow(image, source, gone)
            if row.matches(text):
                made.append(row)
        return made

    def _show(self) -> None:
        table = self.table
        selected = table.selected_key
        rows = self._rows = self.rows()
        now = self.app.clock()
        table.clear()
        for row in rows:
            table.add_row(*self._cells(row, now), key=row.image_id)
        if selected is None or not table.select(selected):
            table.move_cursor(row=0, animate=False)
        self._show_title(len(rows))
        empty = self.query_one("#snapshots-empty", Static)
        empty.display = not rows
        empty.update(self._empty_text())
        table.display = bool(rows)
        if rows and self.focused is None:
            table.focus()  # it lost the focus while hidden
        self.refresh_bindings()

    def _cells(self, row: SnapshotRow, now: float) -> list[Text]:
        image, source, style = row.image, row.source, self.table.style
        if source is not None:
            state = Text(state_text(source), style(state_style(source)))
        else:
            state = Text("gone" if row.gone else "unknown", style("dim"))
        return [
            Text(row.image_id),
            Text(image.source_sandbox_id),
            Text(source.name if source is not None and source.name else "-"),
            Text(source.app_name if source is not None else "-"),
            state,
            Text(stamp(image.created_at)),
            Text(age(image.created_at, now), justify="right"),
            Text(size_text(image.size_bytes), justify="right"),
        ]

    def _tick_ages(self) -> None:
        now = self.app.clock()
        table = self.table
        for image in self.images:
            if image.image_id is not None and image.image_id in table.rows:
                table.update_cell(image.image_id, "age", Text(age(image.created_at, now), justify="right"))

    def _show_title(self, shown: int) -> None:
        parts: list[str | tuple[str, str]] = [("Snapshots", "bold $text-accent")]
        if self.problem:
            parts.append((f"  {self.problem}", "$text-error"))
        elif not self.loaded:
            parts.append(("  loading…", "$text-muted"))
        elif not self.images:
            parts.append("  none yet")
        else:
            count = len(self.images)
            parts.append(f"  {count} image{'' if count == 1 else 's'} made by snapshots, newest first")
            if self.filter_text:
                parts.append((f"  │ {shown} shown", "$text-muted"))
        self.query_one("#snapshots-title", Static).update(Content.assemble(*parts))

    def _empty_text(self) -> Text:
        if not self.loaded:
            return Text("")
        if self.images:
            return Text("no snapshot matches the filter (esc clears it)")
        keys = self.app.effective_keys
        return Text(
            "No snapshots yet. To make one, select a running sandbox in the list, press "
            f"{keys('open', 'enter').split(',')[0]} to open it, then "
            f"{keys('snapshot', 'S').split(',')[0]} to snapshot its filesystem."
        )

    def selected(self) -> SnapshotRow | None:
        if not self._rows:
            return None
        key = self.table.selected_key
        return next((row for row in self._rows if row.image_id == key), None)

    # ---- actions ------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.app.allows(action):
            return False
        if action in ("start", "edit_start", "open_source"):
            # Shown dimmed without a snapshot to act on, or a source to open.
            row = self.selected()
            if row is None:
                return None
            if action == "open_source" and self.app.store.get(row.image.source_sandbox_id) is None:
                return None
        return True

    def on_data_table_row_highlighted(self) -> None:
        self.refresh_bindings()

    def action_refresh(self) -> None:
        self.load()

    def action_filter(self) -> None:
        self.query_one("#snapshots-filter").add_class("-shown")
        self.query_one("#snapshots-filter-input", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._show()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()

    def action_back(self) -> None:
        """Escape leaves the filter prompt first, then clears the filter, then goes back."""
        prompt = self.query_one("#snapshots-filter-input", Input)
        if prompt.has_focus:
            self.table.focus()
            self.query_one("#snapshots-filter").set_class(bool(prompt.value), "-shown")
        elif prompt.value:
            prompt.value = ""
            self.query_one("#snapshots-filter").remove_class("-shown")
        else:
            self.dismiss()

    def action_open_source(self) -> None:
        if (row := self.selected()) is None:
            self.notify("no snapshot selected", severity="warning")
            return
        source_id = row.image.source_sandbox_id
        if self.app.store.get(source_id) is None:
            self.notify(f"{source_id} is not in the list any more", severity="warning")
            return
        self.app.show_sandbox(source_id)

    def action_start(self) -> None:
        if self.app.refuse_readonly("start"):
            return
        if (row := self.selected()) is None:
            self.notify("no snapshot selected", severity="warning")
            return
        if row.source is None:
            self.notify(
                f"{row.image.source_sandbox_id} is gone, so the app and parameters to start "
                "the copy with are unknown: e opens the create form with this image",
                severity="error",
            )
            return
        self._start(row.image, row.source)

    def action_edit_start(self) -> None:
        """The create form with this image and, while its source is known, its parameters."""
        from sbtui.tui.create_fields import texts_of

        if self.app.refuse_readonly("edit_start"):
            return
        if (row := self.selected()) is None:
            self.notify("no snapshot selected", severity="warning")
            return
        texts = texts_of(row.source) if row.source is not None else {}
        texts["image"] = row.image_id
        self.app.open_create(texts, f"New sandbox from {row.image_id}")

    @work(group="start")
    async def _start(self, image: Image, source: SandboxInfo) -> None:
        """A sandbox from `image` like its source (as the snapshot dialog offers), then the list
        with the new sandbox selected."""
        if await self.app.start_from_snapshot(image, source) is not None:
            self.app.show_list()
