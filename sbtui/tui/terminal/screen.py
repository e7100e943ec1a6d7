"""TerminalScreen: pyte's Screen, fixed and fast, with scrollback and an alternate screen.

pyte 0.8.2 keeps each line as a dict of `Char` cells and rebuilds the whole dict on every
scroll. Here `buffer` is a list of `Row`s (see cells.py: a row is a list of texts and a list
of attribute tuples), so scrolling rotates rows, erasing is a slice assignment and a run of
printable ASCII is two slice writes with no object made per cell. `buffer[y][x]` still reads
a cell, as `(text, attrs)`; `cell(x, y)` gives the pyte `Char`; `display` gives the lines;
`cursor.attrs` is a `Char`, as in pyte.

Fixed against pyte 0.8.2:

* `ESC E` (NEL) returns the carriage as well as moving down (pyte maps it to a bare linefeed;
  `TerminalStream` routes it to `next_line`);
* private SGR (`CSI ? 4 m`, sent by vim) is ignored instead of raising TypeError;
* the alternate screen (`?1049`, `?1047`, `?47`) keeps the main screen and `?1048`/`?1049`
  save and restore the cursor;
* CPR (`CSI 6 n`, `CSI ? 6 n`) and device attributes (`CSI c`, `CSI > c`) are answered through
  `write_process_input`, which hands the answer to `on_answer` (the widget writes it to the
  program) or collects it in `answers`;
* DECRC restores the same save again (xterm has one save slot, pyte popped a stack), cursor
  moves outside the scroll region stop at the screen edge instead of jumping into the region,
  and erase/scroll fill with the current background (xterm's bce, which xterm-256color
  advertises);
* SCOSC/SCORC (`CSI s`, `CSI u`) save and restore the cursor like DECSC/DECRC (pyte's
  handlers took no parameters, so every one raised TypeError);
* in origin mode (DECOM) CUP/HVP count rows from the top margin and stop at the bottom one,
  as xterm does (pyte ignored a row below the region);
* G1, like G0, starts as ASCII, as in xterm: SO without an `ESC ) 0` before it prints text
  (pyte started G1 as DEC line drawing, the Linux console's choice, so `cat` of a binary that
  happens to send SO turned every later letter into line-drawing symbols);
* a narrow character written over half of a wide one blanks the other half, so a row always
  renders to exactly `columns` cells.

DECSCNM (reverse screen) is left to the renderer instead of rewriting every cell, and DECCOLM
(132 columns) is ignored as xterm does by default: the widget's size decides the columns.
"""

from __future__ import annotations

import copy
import unicodedata
from collections import deque
from itertools import islice, repeat, takewhile
from typing import Callable

import pyte
from pyte import charsets as cs
from pyte import modes as mo
from pyte.screens import Char, Cursor, Margins, Savepoint, wcwidth

from sbtui.tui.terminal.cells import (
    BG,
    DEFAULT_ATTRS,
    Attrs,
    HistoryRow,
    Row,
    SgrPatch,
    history_row,
    is_wide,
    mend,
    row_text,
    sgr_patch,
)

# Private modes the way pyte stores them in `screen.mode` (shifted left by 5).
DECCKM = 1 << 5  # application cursor keys
DECNKM = 66 << 5  # application keypad (ESC = / ESC >)
FOCUS_EVENTS = 1004 << 5
ALT_SCREEN_47 = 47 << 5
ALT_SCREEN_1047 = 1047 << 5
SAVE_CURSOR_1048 = 1048 << 5
ALT_SCREEN_1049 = 1049 << 5
BRACKETED_PASTE = 2004 << 5

DEFAULT_MODES = frozenset({mo.DECAWM, mo.DECTCEM})
DEFAULT_CHAR = Char(" ")

PRIMARY_DA = "\x1b[?1;2c"  # a VT100 with advanced video: what tmux answers
SECONDARY_DA = "\x1b[>1;10;0c"  # a VT220; no xterm version, so vim doesn't probe further

_CACHE_LIMIT = 4096
_new_char = tuple.__new__  # a Char without the namedtuple's Python-level __new__

__all__ = ["TerminalScreen", "HistoryRow", "Row", "row_text"]


class TerminalScreen(pyte.Screen):
    """A pyte Screen with fast rows, bounded scrollback and an alternate screen.

    `history` holds the rows scrolled off the top of the main screen when the scroll region is
    the whole screen (oldest first, at most `scrollback` of them); `history_added` counts every
    row ever added, so a view scrolled into the history can stay on the same lines while
    output arrives.
    """

    # Rows, not pyte's dict of dicts (hence the ignore): each method of pyte's reading it is replaced.
    buffer: list[Row]  # type: ignore[assignment]

    def __init__(
        self,
        columns: int,
        lines: int,
        *,
        scrollback: int = 10_000,
        on_answer: Callable[[str], None] | None = None,
    ) -> None:
        # pyte's __init__ builds a dict-of-dicts buffer that every method here replaces, so the
        # state is set up directly.
        self.columns = columns
        self.lines = lines
        self.dirty: set[int] = set()
        self.history: deque[HistoryRow] = deque(maxlen=scrollback)
        self.history_added = 0
        self.on_answer = on_answer
        self.answers: list[str] = []
        self.savepoints: list[Savepoint] = []
        # Keys and values are exact tuples of str, bool and int, which the garbage collector
        # stops tracking: the caches add nothing to its full collections.
        self._sgr_cache: dict[tuple[int, ...], tuple[Attrs | None, SgrPatch]] = {}
        self._blank_attrs: dict[str, Attrs] = {"default": DEFAULT_ATTRS}
        self._spaces: list[str] = []
        # cursor.attrs[1:] for the Char it was taken from, so drawing doesn't slice each time.
        self._attrs_of: Char | None = None
        self._attrs: Attrs = DEFAULT_ATTRS
        self.reset()

    # -- state ---------------------------------------------------------------------------

    def reset(self) -> None:
        self.buffer = [Row.blank(self.columns) for _ in range(self.lines)]
        self._main_buffer: list[Row] | None = None  # the main rows while alt shows
        self._alt_buffer: list[Row] | None = None  # kept for ?47, which doesn't clear
        self._alt_savepoint: Savepoint | None = None  # ?1048 / ?1049's own save slot
        self.margins: Margins | None = None
        self.mode = set(DEFAULT_MODES)
        self.title = ""
        self.icon_name = ""
        self.charset = 0
        self.g0_charset = cs.LAT1_MAP
        self.g1_charset = cs.LAT1_MAP  # xterm: G0..G3 are US-ASCII after a reset
        self.tabstops = set(range(8, self.columns, 8))
        self.cursor = Cursor(0, 0, DEFAULT_CHAR)
        self.savepoints = []
        self.saved_columns = None
        self._last_char = ""
        self.dirty.update(range(self.lines))

    @property
    def in_alternate_screen(self) -> bool:
        return self._main_buffer is not None

    @property
    def display(self) -> list[str]:
        return [row_text(row) for row in self.buffer]

    def cell(self, x: int, y: int) -> Char:
        """The cell at column x, row y as a pyte Char."""
        row = self.buffer[y]
        return _new_char(Char, (row.text[x], *row.attrs[x]))

    def _current_attrs(self) -> Attrs:
        attrs = self.cursor.attrs
        if attrs is not self._attrs_of:
            self._attrs_of = attrs
            self._attrs = attrs[1:]
        return self._attrs

    def _blank(self) -> Attrs:
        """Attributes of a cleared cell: the current background colour only (xterm's bce)."""
        bg = self.cursor.attrs.bg
        attrs = self._blank_attrs.get(bg)
        if attrs is None:
            if len(self._blank_attrs) >= _CACHE_LIMIT:
                self._blank_attrs = {"default": DEFAULT_ATTRS}
            attrs = self._blank_attrs[bg] = (*DEFAULT_ATTRS[:BG], bg, *DEFAULT_ATTRS[BG + 1 :])
        return attrs

    def _blank_row(self) -> Row:
        return Row.blank(self.columns, self._blank())

    def _clear(self, row: Row, start: int, end: int) -> None:
        row.text[start:end] = [" "] * (end - start)
        row.attrs[start:end] = [self._blank()] * (end - start)

    def _region(self) -> tuple[int, int]:
        margins = self.margins
        if margins is None:
            return 0, self.lines - 1
        return margins.top, margins.bottom

    def _mark(self, top: int, bottom: int) -> None:
        """Mark rows top..bottom dirty, cheaply when everything already is."""
        dirty = self.dirty
        if len(dirty) < self.lines:
            dirty.update(range(top, bottom + 1))

    # -- output --------------------------------------------------------------------------

    def draw(self, data: str, _latin1: str = cs.LAT1_MAP, _insert: int = mo.IRM) -> None:
        # (The defaults are module constants bound once: this is the hottest method.)
        charset = self.g1_charset if self.charset else self.g0_charset
        if charset is not _latin1:
            data = data.translate(charset)
        if not data.isascii() or _insert in self.mode:
            self._draw_cells(data)
            return
        # Printable ASCII: the text and its attributes as two slice writes.
        cursor = self.cursor
        x = cursor.x
        end = x + len(data)
        if end > self.columns:
            self._draw_wrapping(data)
            return
        attrs = self.cursor.attrs
        if attrs is not self._attrs_of:
            self._attrs_of = attrs
            self._attrs = attrs[1:]
        row = self.buffer[cursor.y]
        text = row.text
        # Overwriting one half of a wide character blanks the other half.
        if x and text[x] == "":
            text[x - 1] = " "
        if end < self.columns and text[end] == "":
            text[end] = " "
        text[x:end] = data
        row.attrs[x:end] = [self._attrs] * len(data)
        cursor.x = end
        self.dirty.add(cursor.y)
        self._last_char = data[-1]

    def _draw_wrapping(self, data: str) -> None:
        """ASCII that reaches past the last column: row by row, wrapping as DECAWM says."""
        cursor = self.cursor
        columns = self.columns
        attrs = self._current_attrs()
        length = len(data)
        done = 0
        while done < length:
            x = cursor.x
            if x >= columns:
                if mo.DECAWM not in self.mode:
                    # Without autowrap every further character lands in the last column.
                    row = self.buffer[cursor.y]
                    row.text[columns - 1] = data[-1]
                    row.attrs[columns - 1] = attrs
                    mend(row.text, columns - 1)
                    self.dirty.add(cursor.y)
                    break
                cursor.x = x = 0
                self.index()
            row = self.buffer[cursor.y]
            end = min(columns, x + length - done)
            text = row.text
            if x and text[x] == "":
                text[x - 1] = " "
            if end < columns and text[end] == "":
                text[end] = " "
            text[x:end] = data[done : done + end - x]
            row.attrs[x:end] = [attrs] * (end - x)
            self.dirty.add(cursor.y)
            cursor.x = end
            done += end - x
        self._last_char = data[-1]

    def _draw_cells(self, data: str) -> None:
        """Any text, one character at a time: wide, combining and insert mode."""
        cursor = self.cursor
        columns = self.columns
        attrs = self._current_attrs()
        for char in data:
            width = wcwidth(char)
            if width == 0:
                self._combine(char)
                continue
            if width < 0:
                continue  # unprintable: xterm shows nothing and doesn't move
            if cursor.x + width > columns:
                if mo.DECAWM in self.mode:
                    if width == 2 and cursor.x == columns - 1:
                        self._clear(self.buffer[cursor.y], cursor.x, columns)
                    cursor.x = 0
                    self.index()
                else:
                    cursor.x = columns - width
            row = self.buffer[cursor.y]
            text = row.text
            x = cursor.x
            if mo.IRM in self.mode:
                text[x:x] = [" "] * width
                row.attrs[x:x] = [self._blank()] * width
                del text[columns:], row.attrs[columns:]
                mend(text, columns - 1)
                if is_wide(text[-1]):
                    text[-1] = " "
            if x and text[x] == "":
                text[x - 1] = " "
            text[x] = char
            row.attrs[x] = attrs
            if width == 2:
                text[x + 1] = ""
                row.attrs[x + 1] = attrs
            mend(text, x + width)
            cursor.x = x + width
            self.dirty.add(cursor.y)
            self._last_char = char

    def _combine(self, char: str) -> None:
        """Join a zero-width character to the cell before the cursor, as pyte does."""
        if unicodedata.category(char) in ("Cc", "Cf") and char not in "\u200d\ufe0f":
            return
        x, y = self.cursor.x, self.cursor.y
        if x == 0:
            if y == 0:
                return
            y, x = y - 1, self.columns
        text = self.buffer[y].text
        x -= 1
        if x > 0 and text[x] == "":
            x -= 1  # the stub of a wide character: combine with the character itself
        text[x] = unicodedata.normalize("NFC", text[x] + char)
        self.dirty.add(y)

    def repeat_last(self, count: int | None = None) -> None:
        """REP (`CSI n b`): draw the last printed character again; ncurses uses it."""
        if self._last_char:
            self.draw(self._last_char * min(count or 1, self.columns * self.lines))

    def draw_lines(self, lines: list[str]) -> None:
        """Draw each text (printable ASCII) followed by CR LF: `cat`, `seq` and logs.

        Once the cursor sits on a freshly scrolled-in bottom row of the main screen with no
        scroll region, every following line only passes through the screen on its way to the
        history: those rows are built once, in their final place, instead of being drawn and
        scrolled one at a time.
        """
        count = len(lines)
        i = 0
        while i < count:
            text = lines[i]
            i += 1
            if text:
                self.draw(text)
            self.cursor.x = 0
            scrolls = self.cursor.y == self.lines - 1
            self.linefeed()
            if not (scrolls and i < count and self._plain_scrolling()):
                continue
            rest = lines[i:]
            columns = self.columns
            if max(map(len, rest)) > columns:  # rare: a line that wraps ends the run
                rest = list(takewhile(lambda text: len(text) <= columns, rest))
            if rest:
                self._pass_lines(rest)
                i += len(rest)

    def _plain_scrolling(self) -> bool:
        return (
            self.margins is None
            and self._main_buffer is None
            and self.charset == 0
            and self.g0_charset is cs.LAT1_MAP
            and self.cursor.x == 0
            and self.cursor.y == self.lines - 1
        )

    def _pass_lines(self, texts: list[str]) -> None:
        """`text CR LF` for each text with the cursor at the start of a blank bottom row."""
        columns = self.columns
        top = self.lines - 1  # rows above the bottom one, which stays blank
        history = self.history
        added = len(texts)
        for text in reversed(texts):
            if text:
                self._last_char = text[-1]
                break
        if history.maxlen is not None and added > history.maxlen + top:
            # Lines that would leave the history again within this call are never built.
            texts = texts[added - history.maxlen - top :]
        attrs = self._current_attrs()
        blank = self._blank()
        if blank is DEFAULT_ATTRS:
            # Only the text, and as the string itself (ASCII: one character per cell): a
            # history row shorter than the screen is padded with default blanks when shown,
            # and building all its cells was most of the cost. Lines of one length share one
            # attribute tuple, and map/zip build the rows without a Python step per line
            # (a flood of `yes` is a million lines a second).
            runs = {n: (attrs,) * n for n in set(map(len, texts))}
            new: list[HistoryRow] = list(
                map(_new_char, repeat(HistoryRow), zip(texts, map(runs.__getitem__, map(len, texts))))
            )
        else:
            new = [
                history_row(
                    (*text, *" " * (columns - len(text))),
                    (attrs,) * len(text) + (blank,) * (columns - len(text)),
                )
                for text in texts
            ]
        old = self.buffer[:top]
        cut = len(new)  # rows leaving the screen: the old ones first, then new ones
        history.extend([row.freeze() for row in old[:cut]])
        if cut > top:
            history.extend(islice(new, cut - top))
            self.buffer = [self._thaw(row) for row in new[cut - top :]]
        else:
            self.buffer = old[cut:] + [self._thaw(row) for row in new]
        self.history_added += added
        self.buffer.append(Row.blank(columns, blank))
        self.dirty.update(range(self.lines))

    def _thaw(self, row: Row | HistoryRow) -> Row:
        if row.__class__ is Row:
            return row
        missing = self.columns - len(row.text)
        return Row([*row.text, *[" "] * missing], [*row.attrs, *[self._blank()] * missing])

    # -- line movement and scrolling -------------------------------------------------------

    def index(self) -> None:
        cursor = self.cursor
        top, bottom = self._region()
        if cursor.y == bottom:
            self._scroll_up(top, bottom, 1)
        elif cursor.y < self.lines - 1:
            cursor.y += 1  # also below the region, where pyte jumped back to its bottom

    def linefeed(self) -> None:
        self.index()
        if mo.LNM in self.mode:
            self.cursor.x = 0

    def next_line(self) -> None:
        """NEL (`ESC E`): carriage return and index."""
        self.cursor.x = 0
        self.index()

    def reverse_index(self) -> None:
        cursor = self.cursor
        top, bottom = self._region()
        if cursor.y == top:
            self._scroll_down(top, bottom, 1)
        elif cursor.y > 0:
            cursor.y -= 1

    def _scroll_up(self, top: int, bottom: int, count: int) -> None:
        buffer = self.buffer
        count = min(count, bottom - top + 1)
        keep = top == 0 and bottom == self.lines - 1 and self._main_buffer is None
        columns = self.columns
        if len(self._spaces) != columns:
            self._spaces = [" "] * columns
        blank = self._blank()
        for _ in range(count):
            row = buffer.pop(top)
            if keep:
                self.history.append(row.freeze())
            # The row object is reused as the new blank one: no allocation per scroll.
            row.text[:] = self._spaces
            row.attrs[:] = [blank] * columns
            buffer.insert(bottom, row)
        if keep:
            self.history_added += count
        self._mark(top, bottom)

    def _scroll_down(self, top: int, bottom: int, count: int) -> None:
        buffer = self.buffer
        count = min(count, bottom - top + 1)
        for _ in range(count):
            del buffer[bottom]
            buffer.insert(top, self._blank_row())
        self._mark(top, bottom)

    def scroll_up(self, count: int | None = None, *args: int) -> None:
        """SU (`CSI n S`): scroll the region up, the cursor stays."""
        top, bottom = self._region()
        self._scroll_up(top, bottom, count or 1)

    def scroll_down(self, count: int | None = None, *args: int) -> None:
        """SD (`CSI n T`); with more parameters it is xterm's mouse highlight, which we skip."""
        if args:
            return
        top, bottom = self._region()
        self._scroll_down(top, bottom, count or 1)

    def insert_lines(self, count: int | None = None) -> None:
        top, bottom = self._region()
        y = self.cursor.y
        if top <= y <= bottom:
            count = min(count or 1, bottom - y + 1)
            del self.buffer[bottom - count + 1 : bottom + 1]
            self.buffer[y:y] = [self._blank_row() for _ in range(count)]
            self._mark(y, bottom)
            self.cursor.x = 0

    def delete_lines(self, count: int | None = None) -> None:
        top, bottom = self._region()
        y = self.cursor.y
        if top <= y <= bottom:
            count = min(count or 1, bottom - y + 1)
            del self.buffer[y : y + count]
            at = bottom - count + 1
            self.buffer[at:at] = [self._blank_row() for _ in range(count)]
            self._mark(y, bottom)
            self.cursor.x = 0

    # -- cursor --------------------------------------------------------------------------

    def cursor_up(self, count: int | None = None) -> None:
        margins = self.margins
        top = margins.top if margins is not None and self.cursor.y >= margins.top else 0
        self.cursor.y = max(self.cursor.y - (count or 1), top)
        self._clear_pending_wrap()

    def cursor_down(self, count: int | None = None) -> None:
        margins = self.margins
        if margins is not None and self.cursor.y <= margins.bottom:
            bottom = margins.bottom
        else:
            bottom = self.lines - 1
        self.cursor.y = min(self.cursor.y + (count or 1), bottom)
        self._clear_pending_wrap()

    def _clear_pending_wrap(self) -> None:
        # pyte parks the cursor at x == columns after the last column is written; any cursor
        # movement cancels the pending wrap, as in xterm.
        if self.cursor.x >= self.columns:
            self.cursor.x = self.columns - 1

    def set_margins(
        self, top: int | None = None, bottom: int | None = None, *args: int, **kwargs: bool
    ) -> None:
        """DECSTBM. 0 or nothing means the screen edge; a whole-screen region is no region."""
        if kwargs.get("private"):
            return  # `CSI ? r` restores xterm private modes: not margins
        top = max(top or 1, 1) - 1
        bottom = min(bottom or self.lines, self.lines) - 1
        if bottom - top < 1:
            return  # xterm ignores a region of less than two lines
        self.margins = None if (top, bottom) == (0, self.lines - 1) else Margins(top, bottom)
        self.cursor_position()

    def cursor_position(self, line: int | None = None, column: int | None = None) -> None:
        """CUP and HVP. In origin mode the row counts from the top margin and a row past the
        bottom margin stops there, as in xterm (pyte left the cursor where it was)."""
        y = (line or 1) - 1
        if mo.DECOM in self.mode and self.margins is not None:
            y = min(y + self.margins.top, self.margins.bottom)
        self.cursor.x = (column or 1) - 1
        self.cursor.y = y
        self.ensure_hbounds()
        self.ensure_vbounds()

    def cursor_to_line(self, line: int | None = None) -> None:
        y = (line or 1) - 1
        if mo.DECOM in self.mode and self.margins is not None:
            y += self.margins.top
        self.cursor.y = y
        self.ensure_vbounds()
        self._clear_pending_wrap()

    def forward_tab(self, count: int | None = None) -> None:
        """CHT (`CSI n I`)."""
        for _ in range(count or 1):
            self.tab()

    def back_tab(self, count: int | None = None) -> None:
        """CBT (`CSI n Z`): back to the previous tab stop, or the first column."""
        for _ in range(count or 1):
            stops = [stop for stop in self.tabstops if stop < self.cursor.x]
            self.cursor.x = max(stops) if stops else 0

    def save_cursor(self, *params: int) -> None:
        """DECSC (`ESC 7`) and SCOSC (`CSI s`), which share xterm's one save slot.

        `CSI s` comes with the parsed parameters, which xterm ignores while left/right margin
        mode (DECLRMM, not supported here) is off.
        """
        self.savepoints = [self._savepoint()]

    def restore_cursor(self, *params: int) -> None:
        """DECRC (`ESC 8`) and SCORC (`CSI u`, parameters ignored as xterm does)."""
        if self.savepoints:
            self._restore(self.savepoints[-1])
        else:
            self.mode.discard(mo.DECOM)
            self.cursor_position()

    def _savepoint(self) -> Savepoint:
        return Savepoint(
            copy.copy(self.cursor),
            self.g0_charset,
            self.g1_charset,
            self.charset,
            mo.DECOM in self.mode,
            mo.DECAWM in self.mode,
        )

    def _restore(self, savepoint: Savepoint) -> None:
        hidden = self.cursor.hidden  # DECSC doesn't save visibility, DECTCEM owns it
        self.g0_charset = savepoint.g0_charset
        self.g1_charset = savepoint.g1_charset
        self.charset = savepoint.charset
        for flag, on in ((mo.DECOM, savepoint.origin), (mo.DECAWM, savepoint.wrap)):
            if on:
                self.mode.add(flag)
            else:
                self.mode.discard(flag)
        self.cursor = copy.copy(savepoint.cursor)
        self.cursor.hidden = hidden
        self.ensure_hbounds()
        self.ensure_vbounds(use_margins=True)

    # -- erasing and editing within a line --------------------------------------------------

    def _cursor_x(self) -> int:
        return min(self.cursor.x, self.columns - 1)

    def insert_characters(self, count: int | None = None) -> None:
        row = self.buffer[self.cursor.y]
        x = self._cursor_x()
        count = min(count or 1, self.columns - x)
        row.text[x:x] = [" "] * count
        row.attrs[x:x] = [self._blank()] * count
        del row.text[self.columns :], row.attrs[self.columns :]
        mend(row.text, x)
        if is_wide(row.text[-1]):
            row.text[-1] = " "  # pushed against the edge without its second half
        self.dirty.add(self.cursor.y)

    def delete_characters(self, count: int | None = None) -> None:
        row = self.buffer[self.cursor.y]
        x = self._cursor_x()
        count = min(count or 1, self.columns - x)
        del row.text[x : x + count], row.attrs[x : x + count]
        row.text.extend([" "] * count)
        row.attrs.extend([self._blank()] * count)
        mend(row.text, x)
        self.dirty.add(self.cursor.y)

    def erase_characters(self, count: int | None = None) -> None:
        row = self.buffer[self.cursor.y]
        x = self._cursor_x()
        end = min(x + (count or 1), self.columns)
        self._clear(row, x, end)
        mend(row.text, x)
        mend(row.text, end)
        self.dirty.add(self.cursor.y)

    def erase_in_line(self, how: int = 0, private: bool = False) -> None:
        row = self.buffer[self.cursor.y]
        x = self._cursor_x()
        if how == 0:
            self._clear(row, x, self.columns)
            mend(row.text, x)
        elif how == 1:
            self._clear(row, 0, x + 1)
            mend(row.text, x + 1)
        elif how == 2:
            self._clear(row, 0, self.columns)
        self.dirty.add(self.cursor.y)

    def erase_in_display(self, how: int = 0, *args: int, **kwargs: bool) -> None:
        if how == 3:
            # xterm's "erase saved lines": `clear` sends it after ED 2.
            self.history.clear()
            return
        y = self.cursor.y
        if how == 0:
            rows = range(y + 1, self.lines)
        elif how == 1:
            rows = range(y)
        elif how == 2:
            rows = range(self.lines)
        else:
            return
        for line in rows:
            self.buffer[line] = self._blank_row()
        self.dirty.update(rows)
        if how != 2:
            self.erase_in_line(how)

    def alignment_display(self) -> None:
        self.buffer = [Row(["E"] * self.columns, [DEFAULT_ATTRS] * self.columns) for _ in range(self.lines)]
        self.dirty.update(range(self.lines))

    # -- attributes ----------------------------------------------------------------------

    def select_graphic_rendition(self, *attrs: int, private: bool = False) -> None:
        if private:
            return  # `CSI ? 4 m` and friends query or set xterm resources; not SGR
        cursor = self.cursor
        cached = self._sgr_cache.get(attrs)
        if cached is None:
            if len(self._sgr_cache) >= _CACHE_LIMIT:
                self._sgr_cache.clear()
            cached = self._sgr_cache[attrs] = sgr_patch(attrs)
        new, patch = cached
        if new is None:
            current = self._attrs if cursor.attrs is self._attrs_of else cursor.attrs[1:]
            new = current
            if patch:
                values = list(current)
                for field, value in patch:
                    values[field] = value
                new = tuple(values)
        # A new Char each time rather than a cached one: cached Chars (tracked by the garbage
        # collector, unlike exact tuples) cost more in full collections than they save.
        char = cursor.attrs = _new_char(Char, (" ", *new))
        self._attrs, self._attrs_of = new, char

    # -- modes ---------------------------------------------------------------------------

    def set_mode(self, *modes: int, **kwargs: bool) -> None:
        if kwargs.get("private"):
            modes = tuple(mode << 5 for mode in modes)
        for mode in modes:
            if mode == mo.DECCOLM:
                continue
            if mode == ALT_SCREEN_1049:
                self._alt_savepoint = self._savepoint()
                self._enter_alternate(clear=True)
            elif mode in (ALT_SCREEN_47, ALT_SCREEN_1047):
                self._enter_alternate(clear=False)
            elif mode == SAVE_CURSOR_1048:
                self._alt_savepoint = self._savepoint()
            self.mode.add(mode)
            if mode == mo.DECOM:
                self.cursor_position()
            elif mode == mo.DECTCEM:
                self.cursor.hidden = False
            elif mode == mo.DECSCNM:
                self.dirty.update(range(self.lines))

    def reset_mode(self, *modes: int, **kwargs: bool) -> None:
        if kwargs.get("private"):
            modes = tuple(mode << 5 for mode in modes)
        for mode in modes:
            self.mode.discard(mode)
            if mode == ALT_SCREEN_1049:
                self._leave_alternate()
                if self._alt_savepoint is not None:
                    self._restore(self._alt_savepoint)
            elif mode == ALT_SCREEN_1047:
                if self._main_buffer is not None:
                    self.erase_in_display(2)
                self._leave_alternate()
            elif mode == ALT_SCREEN_47:
                self._leave_alternate()
            elif mode == SAVE_CURSOR_1048:
                if self._alt_savepoint is not None:
                    self._restore(self._alt_savepoint)
            elif mode == mo.DECOM:
                self.cursor_position()
            elif mode == mo.DECTCEM:
                self.cursor.hidden = True
            elif mode == mo.DECSCNM:
                self.dirty.update(range(self.lines))

    def _enter_alternate(self, clear: bool) -> None:
        if self._main_buffer is None:
            alt = self._alt_buffer
            if alt is None or len(alt) != self.lines or len(alt[0]) != self.columns:
                alt = [Row.blank(self.columns) for _ in range(self.lines)]
            self._main_buffer, self.buffer = self.buffer, alt
        if clear:
            self.buffer[:] = [Row.blank(self.columns) for _ in range(self.lines)]
        self.dirty.update(range(self.lines))

    def _leave_alternate(self) -> None:
        if self._main_buffer is not None:
            self._alt_buffer, self.buffer = self.buffer, self._main_buffer
            self._main_buffer = None
            self.dirty.update(range(self.lines))

    def set_keypad_application(self) -> None:
        self.mode.add(DECNKM)

    def set_keypad_numeric(self) -> None:
        self.mode.discard(DECNKM)

    def soft_reset(self) -> None:
        """DECSTR (`CSI ! p`): modes, margins, attributes and saved cursor back to defaults."""
        self.mode.difference_update({mo.IRM, mo.DECOM, DECCKM, DECNKM})
        self.mode.update(DEFAULT_MODES)
        self.cursor.hidden = False
        self.margins = None
        self.cursor.attrs = DEFAULT_CHAR
        self.charset = 0
        self.g0_charset = cs.LAT1_MAP
        self.g1_charset = cs.LAT1_MAP  # xterm: G0..G3 are US-ASCII after a reset
        self.savepoints = []

    # -- size ----------------------------------------------------------------------------

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        """Resize keeping the cursor's line on screen: rows above it move into the history."""
        lines = lines or self.lines
        columns = columns or self.columns
        if lines == self.lines and columns == self.columns:
            return
        in_alt = self._main_buffer is not None
        main = self.buffer if self._main_buffer is None else self._main_buffer
        main_cursor_y = self._alt_savepoint.cursor.y if in_alt and self._alt_savepoint else self.cursor.y
        main, main_shift = self._fit(main, lines, columns, main_cursor_y, to_history=True)
        if in_alt:
            self._main_buffer = main
            self.buffer, shift = self._fit(self.buffer, lines, columns, self.cursor.y, False)
            if self._alt_savepoint is not None:
                self._alt_savepoint.cursor.y = max(0, self._alt_savepoint.cursor.y - main_shift)
        else:
            self.buffer, shift = main, main_shift
        self._alt_buffer = None
        self.cursor.y -= shift
        self.tabstops = {stop for stop in self.tabstops if stop < columns}
        self.tabstops.update(range((self.columns + 7) // 8 * 8, columns, 8))
        self.lines, self.columns = lines, columns
        self.margins = None
        self.ensure_hbounds()
        self.ensure_vbounds()
        for savepoint in (*self.savepoints, self._alt_savepoint):
            if savepoint is not None:
                savepoint.cursor.x = min(savepoint.cursor.x, columns - 1)
                savepoint.cursor.y = min(savepoint.cursor.y, lines - 1)
        self.dirty.update(range(lines))

    def _fit(
        self, rows: list[Row], lines: int, columns: int, cursor_y: int, to_history: bool
    ) -> tuple[list[Row], int]:
        shift = max(0, cursor_y - lines + 1)
        if shift:
            if to_history:
                self.history.extend(row.freeze() for row in rows[:shift])
                self.history_added += shift
            rows = rows[shift:]
        rows = rows[:lines]
        rows.extend(Row.blank(columns) for _ in range(lines - len(rows)))
        for row in rows:
            if len(row) > columns:
                del row.text[columns:], row.attrs[columns:]
                if is_wide(row.text[-1]):
                    row.text[-1] = " "
            elif len(row) < columns:
                missing = columns - len(row)
                row.text.extend([" "] * missing)
                row.attrs.extend([DEFAULT_ATTRS] * missing)
        return rows, shift

    # -- answers to the program ---------------------------------------------------------------

    def report_device_attributes(self, mode: int = 0, **kwargs: bool) -> None:
        if mode:
            return
        if kwargs.get("secondary"):
            self.write_process_input(SECONDARY_DA)
        elif not kwargs.get("private"):
            self.write_process_input(PRIMARY_DA)

    def report_device_status(self, mode: int = 0, **kwargs: bool) -> None:
        if mode == 5:
            self.write_process_input("\x1b[0n")
        elif mode == 6:
            x = min(self.cursor.x, self.columns - 1) + 1
            y = self.cursor.y + 1
            if mo.DECOM in self.mode and self.margins is not None:
                y -= self.margins.top
            mark = "?" if kwargs.get("private") else ""
            self.write_process_input(f"\x1b[{mark}{y};{x}R")

    def write_process_input(self, data: str) -> None:
        if self.on_answer is not None:
            self.on_answer(data)
        else:
            self.answers.append(data)
