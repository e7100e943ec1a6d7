"""How the screen holds its cells: rows of text and attributes, and SGR on attributes.

pyte keeps a `Char` namedtuple per cell. Here a row is two parallel lists: `text` (one string
per cell: a character, a character with combining marks, or "" for the second cell of a wide
character) and `attrs` (one tuple per cell: pyte's Char fields after `data`, shared by every
cell drawn with the same attributes). Drawing text then creates no object per cell: the
characters of an ASCII run are Python's cached one-letter strings and the attributes one
shared tuple. Measured on colour-heavy output, a `Char` per cell spent a third of the time
allocating cells and collecting them (the garbage collector tracks every namedtuple, and a
colourful scrollback held a million of them).
"""

from __future__ import annotations

from typing import Iterator, NamedTuple, Sequence

from pyte import graphics as g
from pyte.screens import Char, wcwidth

Attrs = tuple  # (fg, bg, bold, italics, underscore, strikethrough, reverse, blink)
FG, BG, BOLD, ITALICS, UNDERSCORE, STRIKETHROUGH, REVERSE, BLINK = range(8)
DEFAULT_ATTRS: Attrs = tuple(Char(" "))[1:]


class Row:
    """One screen row: `text[x]` and `attrs[x]` for each of its cells."""

    __slots__ = ("text", "attrs")

    def __init__(self, text: list[str], attrs: list[Attrs]) -> None:
        self.text = text
        self.attrs = attrs

    @classmethod
    def blank(cls, columns: int, attrs: Attrs = DEFAULT_ATTRS) -> Row:
        return cls([" "] * columns, [attrs] * columns)

    def __len__(self) -> int:
        return len(self.text)

    def __getitem__(self, x: int) -> tuple[str, Attrs]:
        return self.text[x], self.attrs[x]

    def __iter__(self) -> Iterator[tuple[str, Attrs]]:
        return zip(self.text, self.attrs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Row) and self.text == other.text and self.attrs == other.attrs

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Row({''.join(self.text)!r})"

    def freeze(self) -> HistoryRow:
        return _new_tuple(HistoryRow, (tuple(self.text), tuple(self.attrs)))


class HistoryRow(NamedTuple):
    """A row scrolled into the history. Exact tuples of strings and of attribute tuples are
    untracked by the garbage collector, so a long history costs its full collections nothing.
    `text` is a tuple of cell texts, or a str when every cell is one ASCII character. A row
    may be shorter or longer than the screen is now: missing cells are default blanks."""

    text: Sequence[str]
    attrs: tuple[Attrs, ...]


_new_tuple = tuple.__new__  # skips the namedtuple's Python-level __new__ (scrolling is hot)


def history_row(text: tuple[str, ...], attrs: tuple[Attrs, ...]) -> HistoryRow:
    return _new_tuple(HistoryRow, (text, attrs))


def row_text(row: Row | HistoryRow) -> str:
    """A row's text as shown (a wide character's second cell holds "")."""
    return "".join(row.text)


def is_wide(data: str) -> bool:
    return bool(data) and not data.isascii() and wcwidth(data[0]) == 2


def mend(text: list[str], x: int) -> None:
    """Keep wide characters whole at the boundary before column `x`: a lone half is blanked."""
    if 0 < x < len(text):
        if text[x] == "":
            if not is_wide(text[x - 1]):
                text[x] = " "
        elif is_wide(text[x - 1]):
            text[x - 1] = " "


# SGR codes that set one field to one value.
_SGR_FIELDS: dict[int, tuple[int, object]] = {
    1: (BOLD, True),
    3: (ITALICS, True),
    4: (UNDERSCORE, True),
    5: (BLINK, True),
    7: (REVERSE, True),
    9: (STRIKETHROUGH, True),
    22: (BOLD, False),
    23: (ITALICS, False),
    24: (UNDERSCORE, False),
    25: (BLINK, False),
    27: (REVERSE, False),
    29: (STRIKETHROUGH, False),
    **{code: (FG, name) for code, name in g.FG_ANSI.items()},
    **{code: (BG, name) for code, name in g.BG_ANSI.items()},
    **{code: (FG, name) for code, name in g.FG_AIXTERM.items()},
    **{code: (BG, name) for code, name in g.BG_AIXTERM.items()},
}


SgrPatch = tuple  # ((field, value), ...): what an SGR sets, in order


def sgr_patch(params: tuple[int, ...]) -> tuple[Attrs | None, SgrPatch]:
    """What SGR `params` does, with the colour names and hex values pyte uses.

    Returns (attrs, ()) when the result doesn't depend on the attributes before (it starts
    with a reset), else (None, patch) to apply with `apply_patch`. Keyed by the parameters
    alone, a cache of these hits far more often than one keyed by (attributes, parameters).
    """
    patch: list[tuple[int, object]] = []
    whole = False
    if not params:
        params = (0,)
    i = 0
    n = len(params)
    while i < n:
        p = params[i]
        i += 1
        field = _SGR_FIELDS.get(p)
        if field is not None:
            patch.append(field)
        elif p == 0:
            patch = list(enumerate(DEFAULT_ATTRS))
            whole = True
        elif p == 38 or p == 48 or p == 58:
            color = None
            if i < n and params[i] == 5 and i + 1 < n:
                if 0 <= params[i + 1] < 256:
                    color = g.FG_BG_256[params[i + 1]]
                i += 2
            elif i < n and params[i] == 2 and i + 3 < n:
                r, gr, b = (min(255, v) for v in params[i + 1 : i + 4])
                color = f"{r:02x}{gr:02x}{b:02x}"
                i += 4
            else:
                i = n  # malformed: the rest can't be read reliably
            # 58 (underline colour) has no place in a pyte Char: consumed and dropped.
            if color is not None and p != 58:
                patch.append((FG if p == 38 else BG, color))
    if whole:
        return apply_patch(DEFAULT_ATTRS, tuple(patch)), ()
    return None, tuple(patch)


def apply_patch(attrs: Attrs, patch: SgrPatch) -> Attrs:
    values = list(attrs)
    for field, value in patch:
        values[field] = value
    return tuple(values)
