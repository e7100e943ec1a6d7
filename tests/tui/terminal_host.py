"""A tiny app hosting one Terminal for the widget tests and the snapshot."""

from __future__ import annotations

import asyncio
import time

from textual.app import App, ComposeResult

from sbtui.tui.widgets.terminal import Terminal

PROMPT = b"\x1b[1;32muser@sbtui\x1b[0m:\x1b[1;34m~/src\x1b[0m$ "


class TerminalHost(App):
    """Records what the Terminal sends and reports, and focuses it."""

    def __init__(self, send=None, on_resize_process=None) -> None:
        """`send` and `on_resize_process` go to a real program; by default they record."""
        super().__init__()
        self.sent: list[bytes] = []
        self.sent_at: list[float] = []
        self.sizes: list[tuple[int, int]] = []
        self.escaped = 0
        self.commands: list[tuple[str, str | None]] = []
        self.titles: list[str] = []
        self.got_input = asyncio.Event()
        self.terminal = Terminal(send=send or self._send, on_resize_process=on_resize_process or self._resize)

    def compose(self) -> ComposeResult:
        yield self.terminal

    def on_mount(self) -> None:
        self.terminal.focus()

    def _send(self, data: bytes) -> None:
        self.sent.append(data)
        self.sent_at.append(time.perf_counter())
        self.got_input.set()

    async def _resize(self, rows: int, columns: int) -> None:
        self.sizes.append((rows, columns))

    def on_terminal_escaped(self, message: Terminal.Escaped) -> None:
        self.escaped += 1

    def on_terminal_command(self, message: Terminal.Command) -> None:
        self.commands.append((message.key, message.character))

    def on_terminal_title_changed(self, message: Terminal.TitleChanged) -> None:
        self.titles.append(message.title)


async def wait_for(condition, timeout: float = 5.0, what: str = "condition") -> None:
    """Poll `condition` until it holds; fail after `timeout` seconds."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.002)


async def shown(pilot, terminal: Terminal, data: bytes = b"") -> None:
    """Feed `data` and wait until it is parsed and the app has painted it."""
    if data:
        terminal.feed(data)
    await wait_for(lambda: terminal.settled, what="parsing")
    await pilot.pause()
