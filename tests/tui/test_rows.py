"""SandboxRows: incremental updates give exactly what a full rebuild gives."""

from __future__ import annotations

import dataclasses
import random

from sbtui.client import EventKind, SandboxEvent, SandboxState
from sbtui.tui.columns import COLUMNS
from sbtui.tui.filters import parse_filter
from sbtui.tui.rows import SandboxRows
from sbtui.tui.state import SandboxStore
from tests.tui import sample


def store_of(infos) -> SandboxStore:
    store = SandboxStore()
    store.begin_resync()
    for info in infos:
        store.apply(SandboxEvent(EventKind.EXISTING, info, 0))
    store.apply(SandboxEvent(EventKind.SYNCED, None, 0))
    return store


def test_incremental_updates_match_a_rebuild_for_every_sort_and_filter():
    rng = random.Random(3)
    store = store_of(sample.many(400))
    for column in COLUMNS:
        for text in ("", "tag:env=prod", "state:running app:app-03", "worker"):
            for reverse in (False, True):
                rows = SandboxRows(store)
                rows.set_filter(parse_filter(text))
                rows.set_sort(column.key, reverse)
                changed = []
                for info in rng.sample(list(store.sandboxes.values()), 30):
                    state = rng.choice(list(SandboxState))
                    tags = {**info.tags, "env": rng.choice(["prod", "dev"])}
                    store.apply(
                        SandboxEvent(
                            EventKind.STATE_CHANGED, dataclasses.replace(info, state=state, tags=tags), 0
                        )
                    )
                    changed.append(info.sandbox_id)
                store.take_changes()
                rows.update(changed)
                expected = SandboxRows(store, column.key, reverse)
                expected.set_filter(parse_filter(text))
                assert rows.ids() == expected.ids(), (column.key, text, reverse)
                assert all(rows.index_of(i) == n for n, i in enumerate(rows.ids()))


def test_resync_drops_sandboxes_the_server_no_longer_has():
    infos = sample.sandboxes()
    store = store_of(infos)
    store.take_changes()
    store.begin_resync()
    for info in infos[2:]:
        store.apply(SandboxEvent(EventKind.EXISTING, info, 0))
    assert len(store) == 12  # the old picture stays up until the new one is complete
    store.apply(SandboxEvent(EventKind.SYNCED, None, 0))
    assert len(store) == 10 and store.take_changes().reset
    assert sum(store.counts.values()) == 10
