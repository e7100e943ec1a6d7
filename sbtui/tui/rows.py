"""The rows of the sandbox list: the store's sandboxes that pass the filter, in sort order.

Kept as one ascending list of sort keys `(column value, sandbox id)`, so one changed sandbox costs
a bisect and a list insert or delete instead of a re-sort, and a reversed sort is the same list
read from the end. A new filter or sort column rebuilds the list: one pass over the store.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from typing import Any, Iterable

from sbtui.client import SandboxInfo
from sbtui.tui.columns import COLUMN_BY_KEY, Column
from sbtui.tui.filters import SandboxFilter, search_text
from sbtui.tui.state import SandboxStore


class SandboxRows:
    def __init__(self, store: SandboxStore, sort: str = "age", reverse: bool = False) -> None:
        self.store = store
        self.filter = SandboxFilter()
        self.sort_column: Column = COLUMN_BY_KEY[sort]
        self.reverse = reverse
        self._keys: list[tuple[Any, str]] = []
        self._key_of: dict[str, tuple[Any, str]] = {}
        # Free-text haystacks, rebuilt only when a sandbox's info object changes.
        self._haystacks: dict[str, tuple[SandboxInfo, str]] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def id_at(self, index: int) -> str:
        """The sandbox shown at row `index` (0 = top)."""
        if self.reverse:
            index = len(self._keys) - 1 - index
        return self._keys[index][1]

    def index_of(self, sandbox_id: str) -> int | None:
        key = self._key_of.get(sandbox_id)
        if key is None:
            return None
        at = bisect_left(self._keys, key)
        return len(self._keys) - 1 - at if self.reverse else at

    def ids(self) -> list[str]:
        order = [key[1] for key in self._keys]
        return order[::-1] if self.reverse else order

    def _haystack(self, info: SandboxInfo) -> str:
        cached = self._haystacks.get(info.sandbox_id)
        if cached is not None and cached[0] is info:
            return cached[1]
        text = search_text(info)
        self._haystacks[info.sandbox_id] = (info, text)
        return text

    def _sort_key(self, info: SandboxInfo) -> tuple[Any, str]:
        return (self.sort_column.sort_key(info), info.sandbox_id)

    def prepare(self) -> None:
        """Build every free-text haystack now (after a load) rather than on the first keystroke."""
        for info in self.store.sandboxes.values():
            self._haystack(info)

    def rebuild(self) -> None:
        """Recompute every row: after a new filter, sort column, or a resync of the store."""
        matches, haystack = self.filter.matches, self._haystack
        if self.filter.empty:
            chosen = list(self.store.sandboxes.values())
        else:
            chosen = [i for i in self.store.sandboxes.values() if matches(i, haystack(i))]
        key = self._sort_key
        self._key_of = {info.sandbox_id: key(info) for info in chosen}
        self._keys = sorted(self._key_of.values())
        if len(self._haystacks) > 2 * len(self.store.sandboxes) + 1000:
            self._haystacks = {k: v for k, v in self._haystacks.items() if k in self.store.sandboxes}

    def set_filter(self, sandbox_filter: SandboxFilter) -> None:
        self.filter = sandbox_filter
        self.rebuild()

    def set_sort(self, column: str, reverse: bool) -> None:
        changed_column = column != self.sort_column.key
        self.sort_column = COLUMN_BY_KEY[column]
        self.reverse = reverse
        if changed_column:
            self.rebuild()

    def update(self, ids: Iterable[str]) -> None:
        """Follow changes of these sandboxes in the store: O(log n) and a list shift each."""
        for sandbox_id in ids:
            old = self._key_of.pop(sandbox_id, None)
            if old is not None:
                del self._keys[bisect_left(self._keys, old)]
            info = self.store.get(sandbox_id)
            if info is None or not self.filter.matches(info, self._haystack(info)):
                continue
            key = self._sort_key(info)
            self._key_of[sandbox_id] = key
            insort(self._keys, key)
