"""SandboxDetailScreen: one sandbox's parameters, state, tags and output, and its actions."""

from __future__ import annotations

import asyncio
import codecs
import re
import time

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Input, Log, Static

from sbtui.client import ConnectionLostError, SandboxInfo, SandboxState, SbtuiError, TerminationReason
from sbtui.printable import printable
from sbtui.text import age, node_text, state_text
from sbtui.tui.columns import state_style
from sbtui.tui.keymap import DETAIL_KEYS, bindings
from sbtui.tui.messages import SandboxesChanged
from sbtui.tui.params import UNSET, param_rows
from sbtui.tui.screens.sandbox_actions import SandboxActions
from sbtui.tui.state import ConnectionStatus
from sbtui.tui.tags import TagsError, format_tags, parse_tags
from sbtui.tui.widgets.connection_banner import ConnectionBanner

TAGS_HINT = "KEY=VALUE pairs separated by spaces; enter saves, esc cancels"
LOG_TAIL = 500  # lines of earlier output fetched when the screen opens
LOG_KEEP = 5000  # lines the output panes keep
# Colour and cursor sequences are shown as plain text, so drop them (CSI, OSC, lone ESC x).
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_STATE_COLOURS = {
    "running": "$text-success",
    "creating": "$text-warning",
    "terminating": "$text-warning",
    "finished": "$text-muted",
    "failed": "$text-error",
    "unknown": "$text-muted",
}


def plain(text: str) -> str:
    return _ESCAPES.sub("", text).replace("\r\n", "\n").expandtabs(8)


def _end_line(log: Log) -> None:
    """Start a new line unless the log is at the start of one (output may lack a last newline)."""
    if log.lines and log.lines[-1]:
        log.write("\n")


def when(at: float, now: float) -> str:
    """'2025-11-26 04:12:03Z (5m ago)'; UTC so that what is shown does not depend on the host."""
    if not at:
        return "-"
    stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(at))
    delta = age(min(at, now), max(at, now))
    return f"{stamp} ({delta} ago)" if at <= now else f"{stamp} (in {delta})"


class SandboxDetailScreen(SandboxActions, Screen):
    BINDINGS = bindings(DETAIL_KEYS)
    HELP_SECTIONS = (("Sandbox", DETAIL_KEYS),)

    def __init__(self, sandbox_id: str) -> None:
        super().__init__()
        self.sandbox_id = sandbox_id
        self._fetched: SandboxInfo | None = None
        self._offered: frozenset[str] | None = None

    def compose(self) -> ComposeResult:
        yield ConnectionBanner()
        yield Static(id="detail-title")
        with Horizontal(id="detail-top"):
            with VerticalScroll(id="detail-params"):
                yield Static(id="params")
            with Vertical(id="detail-side"):
                yield Static(id="status")
                yield Static(id="tags")
                yield Input(id="tags-input", placeholder='env=prod team="data eng"')
                yield Static(TAGS_HINT, id="tags-error")
        yield Log(id="output", max_lines=LOG_KEEP)
        with Vertical(id="exec-panel"):
            yield Input(id="exec-input", placeholder="a command, run with sh -c (enter runs it, esc closes)")
            yield Log(id="exec-output", max_lines=LOG_KEEP)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#detail-params").border_title = "Create parameters"
        self.query_one("#status").border_title = "Status"
        self.query_one("#tags").border_title = "Tags"
        self.query_one("#output").border_title = "Output of the main command"
        self.query_one("#exec-panel").border_title = "Exec"
        self.set_interval(1.0, self._show_status)  # times are shown relative to now
        self.watch(self.app, "connection", self._connection_changed, init=False)
        self._show()
        self.follow_logs()

    def target_sandbox_id(self) -> str | None:
        return self.sandbox_id

    @property
    def info(self) -> SandboxInfo | None:
        return self.app.store.get(self.sandbox_id) or self._fetched

    def target_info(self) -> SandboxInfo | None:
        return self.info

    # ---- showing ------------------------------------------------------------------------

    def on_sandboxes_changed(self, message: SandboxesChanged) -> None:
        if message.change.reset or self.sandbox_id in message.change.ids:
            self._show()
            offered = self.offered_actions()
            if offered != self._offered:  # e.g. a finished sandbox loses terminate and exec
                self._offered = offered
                self.refresh_bindings()

    def _show(self) -> None:
        info = self.info
        title = self.query_one("#detail-title", Static)
        if info is None:
            title.update(Text(f"{self.sandbox_id}  (loading…)"))
            if self._fetched is None:
                self._fetch()
            return
        # A tenant's strings (names, command, tags) are drawn with their control characters escaped.
        heading: list[str | tuple[str, str]] = [(info.sandbox_id, "bold")]
        if info.name:
            heading.append((f"  {printable(info.name)}", "bold"))
        heading += [
            f"  ·  app {printable(info.app_name)}  ·  ",
            (state_text(info), _STATE_COLOURS[state_style(info)]),
        ]
        title.update(Content.assemble(*heading))
        self.query_one("#params", Static).update(self._table(param_rows(info)))
        self.query_one("#tags", Static).update(Text(printable(format_tags(info.tags)) or "none"))
        self._show_status()

    def _show_status(self) -> None:
        if (info := self.info) is not None:
            self.query_one("#status", Static).update(self._table(self._status_rows(info, self.app.clock())))

    @staticmethod
    def _table(rows: list[tuple[str, str]]) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="dim", no_wrap=True)
        table.add_column(overflow="fold")
        for label, value in rows:
            table.add_row(label, Text(printable(value), style="dim" if value == UNSET else ""))
        return table

    @staticmethod
    def _status_rows(info: SandboxInfo, now: float) -> list[tuple[str, str]]:
        reason = info.termination_reason
        return [
            ("state", state_text(info)),
            ("exit code", "-" if info.exit_code is None else str(info.exit_code)),
            ("reason", "-" if reason == TerminationReason.NONE else str(reason)),
            ("created", when(info.created_at, now)),
            ("started", when(info.started_at, now)),
            ("finished", when(info.finished_at, now)),
            ("deadline", when(info.deadline, now) if info.state != SandboxState.FINISHED else "-"),
            ("last activity", when(info.last_activity, now)),
            ("environment", info.environment or "-"),
            ("node", node_text(info)),
        ]

    @work(group="fetch", exclusive=True)
    async def _fetch(self) -> None:
        """The store lacks this sandbox (another environment, or not synced yet): ask the server."""
        try:
            self._fetched = (await self.app.sandbox(self.sandbox_id)).info
        except SbtuiError as err:
            self.query_one("#detail-title", Static).update(Text(f"{self.sandbox_id}: {err}"))
            return
        self._show()
        self.refresh_bindings()

    # ---- output of the main command -----------------------------------------------------

    @work(group="logs", exclusive=True)
    async def follow_logs(self) -> None:
        log = self.query_one("#output", Log)
        log.clear()
        decoders = {name: codecs.getincrementaldecoder("utf-8")("replace") for name in ("stdout", "stderr")}
        try:
            sandbox = await self.app.sandbox(self.sandbox_id)
            async for chunk in sandbox.logs(follow=True, tail=LOG_TAIL):
                log.write(plain(decoders[chunk.stream].decode(chunk.data)))
        except ConnectionLostError as err:
            _end_line(log)
            log.write(f"— the output stream was lost ({err}); it resumes on reconnect —\n")
            return
        except SbtuiError as err:
            _end_line(log)
            log.write(f"— output unavailable: {err} —\n")
            return
        info = self.info
        code = "" if info is None or info.exit_code is None else f" (exit code {info.exit_code})"
        _end_line(log)
        log.write(f"— the main command ended{code} —\n")

    def _connection_changed(self, status: ConnectionStatus) -> None:
        if status.connected:
            self.follow_logs()  # from the tail again: the log is cleared, so nothing repeats

    # ---- tags, in place -----------------------------------------------------------------

    def action_edit_tags(self) -> None:
        if self.app.refuse_readonly("edit_tags") or self.info is None:
            return
        editor = self.query_one("#tags-input", Input)
        editor.value = format_tags(self.info.tags)
        self.query_one("#detail-side").add_class("-editing")
        editor.focus()

    def _close_tags(self) -> None:
        self.query_one("#detail-side").remove_class("-editing")
        self._tags_message(TAGS_HINT, error=False)

    def _tags_message(self, text: str, error: bool = True) -> None:
        message = self.query_one("#tags-error", Static)
        message.update(Text(text))
        message.set_class(error, "-error")

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "tags-input":
            self._save_tags(event.value)
        elif event.input.id == "exec-input" and event.value.strip():
            self._exec(event.value)

    @work(group="tags", exclusive=True)
    async def _save_tags(self, text: str) -> None:
        try:
            tags = parse_tags(text)
        except TagsError as err:
            self._tags_message(str(err))
            return
        try:
            sandbox = await self.app.sandbox(self.sandbox_id)
            await sandbox.set_tags(tags)
        except SbtuiError as err:
            self._tags_message(f"not saved: {err}")
            return
        self._close_tags()
        self.notify(f"tags of {self.sandbox_id} saved")

    # ---- exec ---------------------------------------------------------------------------

    def action_exec(self) -> None:
        if self.app.refuse_readonly("exec"):
            return
        self.add_class("-exec")
        self.query_one("#exec-input", Input).focus()

    @work(group="exec", exclusive=True)
    async def _exec(self, command: str) -> None:
        output = self.query_one("#exec-output", Log)
        _end_line(output)
        output.write(f"$ {command}\n")
        process = None
        try:
            sandbox = await self.app.sandbox(self.sandbox_id)
            process = await sandbox.exec(["sh", "-c", command])
            process.stdin.close()
            copying = asyncio.gather(self._copy(process.stdout, output), self._copy(process.stderr, output))
            code = await process.wait()
            await copying
            _end_line(output)
            output.write(f"— exit code {code} —\n")
        except SbtuiError as err:
            _end_line(output)
            output.write(f"— {err} —\n")
        finally:
            if process is not None:
                await process.close()

    @staticmethod
    async def _copy(stream, output: Log) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        try:
            while data := await stream.read(65536):
                output.write(plain(decoder.decode(data)))
        except SbtuiError:
            pass  # the process's end (and any error) is reported by wait()

    # ---- snapshot -----------------------------------------------------------------------

    def action_snapshot(self) -> None:
        if self.app.refuse_readonly("snapshot"):
            return
        self.notify(f"snapshotting {self.sandbox_id}…")
        self._snapshot()

    @work(group="snapshot", exclusive=True)
    async def _snapshot(self) -> None:
        try:
            sandbox = await self.app.sandbox(self.sandbox_id)
            image = await sandbox.snapshot_filesystem()
        except SbtuiError as err:
            self.notify(f"snapshot failed: {err}", severity="error")
            return
        self.app.snapshot_taken()
        source = self.info
        answer = await self.app.offer_start_from_snapshot(self.sandbox_id, image)
        if answer and source is not None:
            if (created := await self.app.start_from_snapshot(image, source)) is not None:
                self.app.show_sandbox(created)

    # ---- back ---------------------------------------------------------------------------

    def action_back(self) -> None:
        """Escape closes an open editor first, then the screen."""
        if self.query_one("#detail-side").has_class("-editing"):
            self._close_tags()
            self.query_one("#output").focus()
        elif self.has_class("-exec"):
            self.workers.cancel_group(self, "exec")
            self.remove_class("-exec")
            self.query_one("#output").focus()
        else:
            self.dismiss()
