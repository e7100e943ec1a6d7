"""Screen rows to Textual Strips: each run of same-styled cells becomes one Segment.

Styles are built once per distinct set of cell attributes (`StyleCache`), so a frame costs a
`groupby` over the attributes of each dirty row (cells drawn together share one attributes
tuple, so comparing them is an identity check) and a dict lookup per run. Colours follow
pyte: the 16 named colours stay ANSI colours (Textual maps them through its theme),
256-colour and truecolor cells carry the RGB value pyte computed. "default" takes the
widget's own colours, which is also what reverse video swaps with.
"""

from __future__ import annotations

from itertools import groupby
from typing import Literal, Sequence

from rich.cells import cell_len
from rich.color import Color, ColorTriplet, ColorType
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from sbtui.tui.terminal.cells import DEFAULT_ATTRS, REVERSE, Attrs, HistoryRow, Row

_NAMED = {
    "black": 0,
    "red": 1,
    "green": 2,
    "brown": 3,
    "yellow": 3,
    "blue": 4,
    "magenta": 5,
    "cyan": 6,
    "white": 7,
}
# Far more than a colour scheme uses; small enough that the styles of colourful floods die
# young, before the garbage collector promotes them (measured: 4096 cost ~10% more).
_CACHE_LIMIT = 512


def parse_color(name: str) -> Color | None:
    """A pyte colour ("red", "brightblue", "ff8700", "default") as a Rich colour."""
    if name == "default":
        return None
    if name.startswith("bright") and name[6:] in _NAMED:
        return Color.from_ansi(_NAMED[name[6:]] + 8)
    if name in _NAMED:
        return Color.from_ansi(_NAMED[name])
    if len(name) == 6:
        try:
            triplet = ColorTriplet(int(name[0:2], 16), int(name[2:4], 16), int(name[4:6], 16))
        except ValueError:
            return None
        # The constructor itself: Color.from_rgb costs four times as much.
        return Color(f"#{name}", ColorType.TRUECOLOR, None, triplet)
    return None


class StyleCache:
    """Rich styles for cell attributes, given the colours "default" stands for."""

    def __init__(
        self, foreground: Color | None = None, background: Color | None = None, reverse_screen: bool = False
    ) -> None:
        self.foreground = foreground
        self.background = background
        self.reverse_screen = reverse_screen
        self._styles: dict[Attrs, Style] = {}
        self._colors: dict[str, Color | None] = {}

    def configure(self, foreground: Color | None, background: Color | None, reverse_screen: bool) -> bool:
        """Change the defaults; True when that changed anything (cached rows are stale)."""
        if (foreground, background, reverse_screen) == (
            self.foreground,
            self.background,
            self.reverse_screen,
        ):
            return False
        self.foreground, self.background = foreground, background
        self.reverse_screen = reverse_screen
        self._styles.clear()
        return True

    def get(self, key: Attrs) -> Style:
        style = self._styles.get(key)
        if style is None:
            if len(self._styles) >= _CACHE_LIMIT:
                self._styles.clear()
            style = self._styles[key] = self._make(key)
        return style

    def _color(self, name: str) -> Color | None:
        color: Color | None | Literal[False] = self._colors.get(name, False)
        if color is False:
            if len(self._colors) >= _CACHE_LIMIT:
                self._colors.clear()
            color = self._colors[name] = parse_color(name)
        return color

    def _make(self, key: Attrs) -> Style:
        fg, bg, bold, italics, underscore, strike, reverse, blink = key
        color = self._color(fg) or self.foreground
        bgcolor = self._color(bg) or self.background
        if reverse != self.reverse_screen:
            if color is None or bgcolor is None:
                # Without known defaults only the terminal can swap them.
                return Style(
                    color=color,
                    bgcolor=bgcolor,
                    bold=bold or None,
                    italic=italics or None,
                    underline=underscore or None,
                    strike=strike or None,
                    blink=blink or None,
                    reverse=True,
                )
            color, bgcolor = bgcolor, color
        if not (bold or italics or underscore or strike or blink):
            return Style.from_color(color, bgcolor)  # a sixth of Style()'s cost
        return Style(
            color=color,
            bgcolor=bgcolor,
            bold=bold or None,
            italic=italics or None,
            underline=underscore or None,
            strike=strike or None,
            blink=blink or None,
        )


_segment = tuple.__new__  # Segment is a NamedTuple: this skips its Python-level __new__


def render_row(row: Row | HistoryRow, columns: int, styles: StyleCache, cursor_x: int | None = None) -> Strip:
    """One row as a Strip of exactly `columns` cells, the cursor's cell in reverse video."""
    text, attrs = row.text, row.attrs
    if len(text) != columns:
        # A history row from before a resize, or one kept short: pad or cut it.
        missing = columns - len(text)
        text = [*text[:columns], *[" "] * missing]
        attrs = [*attrs[:columns], *[DEFAULT_ATTRS] * missing]
    if cursor_x is not None:
        attrs = _with_cursor(text, list(attrs), cursor_x)
    first = attrs[0]
    if attrs.count(first) == columns:  # one style for the whole row: the usual case
        return Strip([_segment(Segment, (_fit("".join(text), text), styles.get(first), None))], columns)
    segments: list[Segment] = []
    append = segments.append
    style_for = styles.get
    x = 0
    for key, run in groupby(attrs):
        end = x + len(list(run))
        cells = text[x:end]
        append(_segment(Segment, (_fit("".join(cells), cells), style_for(key), None)))
        x = end
    return Strip(segments, columns)


def _fit(joined: str, cells: Sequence[str]) -> str:
    if len(joined) == len(cells) and (joined.isascii() or cell_len(joined) == len(cells)):
        return joined
    return _fit_cells(cells)


def _with_cursor(text: Sequence[str], attrs: list[Attrs], x: int) -> list[Attrs]:
    x = min(x, len(attrs) - 1)
    if x > 0 and text[x] == "":
        x -= 1  # on the second half of a wide character: the cursor covers the character
    attrs[x] = _toggle_reverse(attrs[x])
    if x + 1 < len(attrs) and text[x + 1] == "":
        attrs[x + 1] = attrs[x]
    return attrs


def _toggle_reverse(attrs: Attrs) -> Attrs:
    return (*attrs[:REVERSE], not attrs[REVERSE], *attrs[REVERSE + 1 :])


def _fit_cells(cells: Sequence[str]) -> str:
    """Text for cells that aren't plain ASCII, one terminal cell per screen cell.

    A wide character is shown with its second cell; one without it (or a second cell without
    its character) becomes a space; text whose width Rich sees differently from pyte (wcwidth)
    is padded or replaced, so the row never shifts.
    """
    out: list[str] = []
    count = len(cells)
    i = 0
    while i < count:
        data = cells[i]
        if not data:
            out.append(" ")
            i += 1
            continue
        width = cell_len(data)
        if i + 1 < count and cells[i + 1] == "":
            out.append(data if width == 2 else data + " " if width == 1 else "  ")
            i += 2
            continue
        out.append(data if width == 1 else " ")
        i += 1
    return "".join(out)
