"""What the scriptable verbs print: aligned tables for people, JSON for programs.

Whatever people read goes through `printable` (sbtui.printable): names, tags, keys and messages
come from tenants, registries and engines. JSON is left exact (its encoder escapes every
control character already).
"""

from __future__ import annotations

import json
import sys
from typing import Any, Callable, Iterable, Sequence

from sbtui.printable import printable


def line(text: str, file=None) -> None:
    """One line for people (stdout unless `file`), escaped."""
    print(printable(text), file=file)


def print_table(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    rows = [list(columns)] + [[printable(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)]
        print("  ".join(cells).rstrip())


def print_listing(
    as_json: bool,
    items: Iterable[Any],
    to_json: Callable[[Any], Any],
    columns: Sequence[str],
    to_row: Callable[[Any], Sequence[str]],
) -> None:
    """What every `list` verb prints: JSON Lines with --json, else an aligned table."""
    if as_json:
        for item in items:
            print_json(to_json(item))
    else:
        print_table(columns, map(to_row, items))


def print_json(value: Any) -> None:
    """One value on one line, so a list of them is JSON Lines (`jq` reads it as a stream)."""
    print(json.dumps(value, sort_keys=True))


def warn(message: str) -> None:
    line(f"sbtui: {message}", file=sys.stderr)
