"""Terminal: a pyte-backed terminal widget for a PTY session.

Wiring (the app does this for a `ContainerProcess` started with a PTY):

    terminal = Terminal(send=process.stdin.write, on_resize_process=process.resize)
    while chunk := await process.stdout.read(65536):   # read(n): whatever has arrived
        await terminal.write(chunk)

* Output goes in with `feed(bytes)` or `await write(bytes)`; `write` waits while more than
  `BACKLOG_LIMIT` bytes are queued, so a flood pushes back on the process instead of piling
  up here. UTF-8 is decoded incrementally: a character split between chunks is never broken.
* Output is parsed on a frame tick: at most `PARSE_BUDGET` seconds per frame and at most
  `FRAME_RATE` frames a second, so keys, resizes and the rest of the app always get their
  turn during a flood. Only the rows that changed are rendered again.
* Bytes for the program (keys, pastes, answers to cursor-position and device-attribute
  queries) go out through `send`, a plain callable taking bytes. A callback rather than a
  message: `stdin.write` is synchronous and keeps the order, and a message would add a trip
  through the parent's queue before ctrl+c reaches the program.
* While focused the widget takes every key, including ones the app binds with priority
  (ctrl+q, ctrl+p): it reports them as consumed through `check_consume_key`, which Textual
  uses to drop those bindings. Only `ESCAPE_KEY` (ctrl+], as in telnet) is not sent: it posts
  `Terminal.Escaped`, and the key after it is not sent either but posted as `Terminal.Command`
  (like tmux's prefix), so the app can offer its own keys without taking any from the program.
  The widget itself tracks which key follows, so keys that arrive in one burst are never split
  between the program and the app. (`escape_key=` picks other keys; a command can pass the
  escape key on to the program with `send_key`.)
* shift+pageup / shift+pagedown and the mouse wheel scroll the history (on the alternate
  screen the wheel sends arrow keys instead, which is what less and vim want); any key
  returns to the live screen, while output arriving meanwhile leaves the view where it is.
* The size follows the widget: a resize resizes the screen and then awaits
  `on_resize_process(rows, cols)` (the app gives `ContainerProcess.resize`), latest size wins.
  Start the process with `terminal_size`; setting `on_resize_process` once it runs reports
  the current size again, so a resize in between (or the first layout) is not lost.
"""

from __future__ import annotations

import asyncio
from collections import deque
from time import perf_counter
from typing import Awaitable, Callable, ClassVar

from pyte import modes as mo
from rich.color import Color
from textual import events
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from sbtui.tui.terminal.keys import encode_key, encode_paste
from sbtui.tui.terminal.render import StyleCache, render_row
from sbtui.tui.terminal.screen import BRACKETED_PASTE, DECCKM, FOCUS_EVENTS, TerminalScreen
from sbtui.tui.terminal.stream import TerminalStream

SendCallback = Callable[[bytes], object]
ResizeCallback = Callable[[int, int], Awaitable[object]]


class Terminal(Widget, can_focus=True):
    """A terminal emulator showing a program's output and sending it keys."""

    DEFAULT_CSS = """
    Terminal {
        width: 1fr;
        height: 1fr;
        background: $background;
        color: $foreground;
    }
    """

    ESCAPE_KEY: ClassVar[str] = "ctrl+right_square_bracket"
    """The one key the program never gets (ctrl+]): it posts `Terminal.Escaped`, and the next
    key is posted as `Terminal.Command`."""
    FRAME_RATE: ClassVar[int] = 60
    PARSE_BUDGET: ClassVar[float] = 0.012
    """Seconds of parsing per frame: three quarters of a 60 Hz frame; the rest, and every
    gap between frames, is the app's (keys are handled there: measured under 20 ms)."""
    CHUNK: ClassVar[int] = 16 * 1024
    """Bytes parsed between budget checks."""
    BACKLOG_LIMIT: ClassVar[int] = 256 * 1024
    """Queued bytes beyond which `write` waits: several frames' worth of parsing, and no more,
    since what is queued here still scrolls by after ctrl+c."""
    WHEEL_LINES: ClassVar[int] = 3

    class Escaped(Message):
        """The user pressed the escape key: the next key is a command for the app."""

        def __init__(self, terminal: Terminal) -> None:
            super().__init__()
            self.terminal = terminal

        @property
        def control(self) -> Terminal:
            return self.terminal

    class Command(Message):
        """The key pressed after the escape key (Textual's name and its character, if any)."""

        def __init__(self, terminal: Terminal, key: str, character: str | None) -> None:
            super().__init__()
            self.terminal = terminal
            self.key = key
            self.character = character

        @property
        def control(self) -> Terminal:
            return self.terminal

    class TitleChanged(Message):
        """The program set the window title (OSC 0 or 2)."""

        def __init__(self, terminal: Terminal, title: str) -> None:
            super().__init__()
            self.terminal = terminal
            self.title = title

        @property
        def control(self) -> Terminal:
            return self.terminal

    def __init__(
        self,
        *,
        send: SendCallback | None = None,
        on_resize_process: ResizeCallback | None = None,
        scrollback: int = 10_000,
        escape_key: str | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.send = send
        self.escape_key = escape_key or self.ESCAPE_KEY
        self.commanding = False  # the escape key was pressed: the next key is a command
        self._on_resize_process = on_resize_process
        self.vt = TerminalScreen(80, 24, scrollback=scrollback, on_answer=self._answer)
        self.stream = TerminalStream(self.vt)
        self._style_cache = StyleCache()
        self._strips: list[Strip | None] = [None] * self.vt.lines
        self._pending: deque[memoryview] = deque()
        self._pending_bytes = 0
        self._drained: asyncio.Event | None = None
        self._frame_scheduled = False
        self._last_frame = 0.0
        self._scroll_offset = 0  # rows scrolled back into the history; 0 is live
        self._history_mark = 0
        self._cursor_shown: tuple[int, int] | None = None
        self._title = ""
        self._wanted_size: tuple[int, int] | None = None
        self._reported_size: tuple[int, int] | None = None
        self._resizer: asyncio.Task | None = None
        self._gone = False  # unmounted: writers stop waiting

    # -- output from the program ---------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Queue output from the program; it is shown within a frame or a few."""
        if not data:
            return
        # bytes() copies a bytearray the caller may reuse, and is free for bytes.
        self._pending.append(memoryview(bytes(data)))
        self._pending_bytes += len(data)
        self._schedule_frame()

    async def write(self, data: bytes) -> None:
        """`feed`, then wait while more than BACKLOG_LIMIT bytes wait to be parsed."""
        self.feed(data)
        while self._pending_bytes > self.BACKLOG_LIMIT and not self._gone:
            if self._drained is None:
                self._drained = asyncio.Event()
            self._drained.clear()
            await self._drained.wait()

    @property
    def backlog(self) -> int:
        """Bytes fed and not parsed yet."""
        return self._pending_bytes

    @property
    def settled(self) -> bool:
        """Everything fed so far is parsed and marked for painting."""
        return not self._pending and not self._frame_scheduled

    @property
    def terminal_size(self) -> tuple[int, int]:
        """(rows, columns) of the screen: the size to start a PTY with."""
        return self.vt.lines, self.vt.columns

    @property
    def history_offset(self) -> int:
        """How many rows the view is scrolled back into the history (0: live). Not named
        scroll_offset: Textual reads that of any widget as its scroll position, an Offset."""
        return self._scroll_offset

    def _schedule_frame(self) -> None:
        if self._frame_scheduled or not self.is_mounted:
            return
        self._frame_scheduled = True
        delay = self._last_frame + 1 / self.FRAME_RATE - perf_counter()
        if delay > 0:
            self.set_timer(delay, self._frame, name="terminal frame")
        else:
            # Idle for a frame already: show it now (echo latency). A zero-delay Timer
            # divides by its interval, so this goes through the message queue instead.
            if not self.call_later(self._frame):
                self._frame_scheduled = False  # closing: no frame will come

    def _frame(self) -> None:
        self._frame_scheduled = False
        start = self._last_frame = perf_counter()
        deadline = start + self.PARSE_BUDGET
        pending = self._pending
        feed = self.stream.feed_bytes
        chunk_size = self.CHUNK
        while pending:
            chunk = pending[0]
            if len(chunk) > chunk_size:
                pending[0] = chunk[chunk_size:]
                chunk = chunk[:chunk_size]
            else:
                pending.popleft()
            self._pending_bytes -= len(chunk)
            feed(chunk)
            if perf_counter() >= deadline:
                break
        if self._drained is not None and self._pending_bytes <= self.BACKLOG_LIMIT:
            self._drained.set()
        self._present()
        if pending:
            self._schedule_frame()

    def _present(self) -> None:
        """Mark the rows that changed for repainting."""
        vt = self.vt
        dirty = vt.dirty
        if self._style_cache.configure(*self._default_colors(), mo.DECSCNM in vt.mode):
            dirty.update(range(vt.lines))
        added = vt.history_added - self._history_mark
        self._history_mark = vt.history_added
        if self._scroll_offset:
            if added or dirty:
                # Keep showing the same lines while output goes on below.
                self._scroll_offset = min(self._scroll_offset + added, len(vt.history))
                self._invalidate()
            dirty.clear()
        else:
            cursor = vt.cursor
            shown = None
            if self.has_focus and not cursor.hidden:
                shown = (min(cursor.x, vt.columns - 1), cursor.y)
            if shown != self._cursor_shown:
                if self._cursor_shown is not None:
                    dirty.add(self._cursor_shown[1])
                if shown is not None:
                    dirty.add(shown[1])
                self._cursor_shown = shown
            if dirty:
                self._repaint_rows(dirty)
                dirty.clear()
        if vt.title != self._title:
            self._title = vt.title
            self.post_message(self.TitleChanged(self, vt.title))

    def _repaint_rows(self, rows: set[int]) -> None:
        strips = self._strips
        if len(rows) * 2 >= len(strips):
            self._invalidate()
            return
        width = self.size.width
        for y in rows:
            if y < len(strips):
                strips[y] = None
                self.refresh(Region(0, y, width, 1))

    def _invalidate(self) -> None:
        self._strips = [None] * self.vt.lines
        self.refresh()

    def _default_colors(self) -> tuple[Color | None, Color | None]:
        style = self.rich_style
        return style.color, style.bgcolor

    # -- rendering -----------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        vt = self.vt
        width = self.size.width
        if y >= vt.lines:
            return Strip.blank(width, self.rich_style)
        strip: Strip | None
        if self._scroll_offset:
            history = vt.history
            index = len(history) - self._scroll_offset + y
            row = history[index] if index < len(history) else vt.buffer[index - len(history)]
            strip = render_row(row, vt.columns, self._style_cache)
        else:
            strip = self._strips[y]
            if strip is None:
                cursor_x = None
                if self._cursor_shown is not None and self._cursor_shown[1] == y:
                    cursor_x = self._cursor_shown[0]
                strip = render_row(vt.buffer[y], vt.columns, self._style_cache, cursor_x)
                self._strips[y] = strip
        if strip.cell_length != width:
            strip = strip.adjust_cell_length(width, self.rich_style)
        return strip

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if self.is_mounted:
            self._present()

    # -- size ----------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        columns, rows = self.size.width, self.size.height
        if rows < 1 or columns < 1:
            return
        if (rows, columns) != (self.vt.lines, self.vt.columns):
            self.vt.resize(rows, columns)
            self._scroll_offset = min(self._scroll_offset, len(self.vt.history))
            self._history_mark = self.vt.history_added
            self._cursor_shown = None
            self._invalidate()
            self._present()
        self._wanted_size = (rows, columns)
        self._report_size()

    @property
    def on_resize_process(self) -> ResizeCallback | None:
        return self._on_resize_process

    @on_resize_process.setter
    def on_resize_process(self, callback: ResizeCallback | None) -> None:
        """Set when the process starts: it is then told the current size once more."""
        self._on_resize_process = callback
        self._reported_size = None
        self._report_size()

    def _report_size(self) -> None:
        if self._on_resize_process is None or self._wanted_size is None:
            return
        if self._resizer is None or self._resizer.done():
            self._resizer = asyncio.create_task(self._report_sizes())

    async def _report_sizes(self) -> None:
        # One call at a time, always with the latest size: a drag that resizes the widget
        # twenty times sends as many resizes as the process can take, ending on the last.
        while (callback := self._on_resize_process) is not None and (
            (size := self._wanted_size) is not None and size != self._reported_size
        ):
            try:
                await callback(*size)
            except Exception as error:
                # The process may have ended; its session reports that, not the resize.
                self.log.warning(f"resizing the process to {size[0]}x{size[1]} failed: {error!r}")
            self._reported_size = size

    def on_unmount(self) -> None:
        self._gone = True
        if self._resizer is not None:
            self._resizer.cancel()
        if self._drained is not None:
            self._drained.set()  # a writer waiting on a gone widget must not hang

    # -- input to the program -------------------------------------------------------------

    def send_bytes(self, data: bytes) -> None:
        """Send bytes to the program as if typed."""
        if self.send is None or not data:
            return
        try:
            self.send(data)
        except Exception as error:
            # The program's stdin is closed (it exited): keys typed into it are dropped.
            self.log.warning(f"the terminal's program did not take input: {error!r}")

    def _answer(self, text: str) -> None:
        self.send_bytes(text.encode())

    @property
    def escape_key(self) -> str:
        """The escape key; several may be given, comma-separated, as in Textual's bindings."""
        return ",".join(self._escape_keys)

    @escape_key.setter
    def escape_key(self, keys: str) -> None:
        self._escape_keys = tuple(k.strip() for k in keys.split(",") if k.strip())

    def send_key(self, key: str) -> None:
        """Send the bytes of `key` (a Textual key name) to the program, e.g. the escape key."""
        data = encode_key(key, None, application_cursor=DECCKM in self.vt.mode)
        if data is not None:
            self.send_bytes(data)

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return key not in self._escape_keys

    async def _on_key(self, event: events.Key) -> None:
        key = event.key
        if self.commanding:
            self.commanding = False
            event.stop()
            event.prevent_default()
            self.post_message(self.Command(self, key, event.character))
            return
        if key in self._escape_keys:
            event.stop()
            event.prevent_default()
            self.commanding = True
            self.post_message(self.Escaped(self))
            return
        if key in ("shift+pageup", "shift+pagedown") and not self.vt.in_alternate_screen:
            event.stop()
            event.prevent_default()
            page = max(1, self.vt.lines - 1)
            self.scroll_history(page if key == "shift+pageup" else -page)
            return
        data = encode_key(key, event.character, application_cursor=DECCKM in self.vt.mode)
        if data is None:
            return
        event.stop()
        event.prevent_default()
        self.scroll_history(-self._scroll_offset)
        self.send_bytes(data)

    async def _on_paste(self, event: events.Paste) -> None:
        event.stop()
        event.prevent_default()
        self.scroll_history(-self._scroll_offset)
        self.send_bytes(encode_paste(event.text, BRACKETED_PASTE in self.vt.mode))

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        event.prevent_default()
        self._wheel(1)

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        event.prevent_default()
        self._wheel(-1)

    def _wheel(self, direction: int) -> None:
        if self.vt.in_alternate_screen:
            key = "up" if direction > 0 else "down"
            data = encode_key(key, None, application_cursor=DECCKM in self.vt.mode)
            self.send_bytes((data or b"") * self.WHEEL_LINES)
        else:
            self.scroll_history(direction * self.WHEEL_LINES)

    def scroll_history(self, lines: int) -> None:
        """Scroll the view `lines` rows back into the history (negative: forward)."""
        offset = max(0, min(self._scroll_offset + lines, len(self.vt.history)))
        if offset == self._scroll_offset:
            return
        self._scroll_offset = offset
        self._history_mark = self.vt.history_added
        self._cursor_shown = None
        self.set_class(offset > 0, "-scrolled-back")
        self._invalidate()
        if not offset:
            self._present()

    def watch_has_focus(self, focused: bool) -> None:
        # The cursor shows only while focused; programs that asked (?1004) hear about it.
        if FOCUS_EVENTS in self.vt.mode:
            self.send_bytes(b"\x1b[I" if focused else b"\x1b[O")
        if self.is_mounted:
            self._present()

    def on_mount(self) -> None:
        self._present()
        if self._pending:
            self._schedule_frame()
