"""The list's NODE column: drawn once the sandboxes known are on more than one node, and not
on the one host of a Docker or Podman engine. Fixed data stands in for a cluster (a real server
here runs on one engine, one node); the `node:` filter on a real server is in
test_list_real.py."""

from __future__ import annotations

from dataclasses import replace

from sbtui.client import EventKind, SandboxEvent
from sbtui.tui.app import SbtuiApp
from tests.tui import sample
from tests.tui.screenshots import KEYMAP
from tests.tui.waiting import until


def column_keys(app: SbtuiApp) -> list[str]:
    return [c.key for c in app.screen.table.columns]


def header(app: SbtuiApp) -> str:
    return app.export_screenshot(simplify=True).replace("&#160;", " ")


async def test_node_column_is_drawn_once_sandboxes_span_two_nodes():
    on_one = [replace(info, node="manager-1") for info in sample.sandboxes()[:3]]
    client = sample.SampleClient(on_one)
    app = SbtuiApp(client=client, clock=sample.clock, keymap_path=KEYMAP)
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: app.store.synced and len(app.screen.rows) == 3, "the sandboxes listed")
        assert "node" not in column_keys(app)
        assert " NODE " not in header(app) and "manager-1" not in header(app)

        elsewhere = sample.sandbox(13, "web", name="on-a-worker", node="worker-1")
        client.sandboxes.events.put_nowait(SandboxEvent(EventKind.CREATED, elsewhere, sample.NOW))
        await until(pilot, lambda: "node" in column_keys(app), "the NODE column", 10)
        await pilot.pause()
        drawn = header(app)
        assert " NODE " in drawn and "manager-1" in drawn and "worker-1" in drawn
        assert column_keys(app).index("node") == column_keys(app).index("state") + 1
        # Sorted by it like any other column: "o" goes on from STATE to NODE.
        app.screen.rows.set_sort("state", False)
        await pilot.press("o")
        assert app.screen.rows.sort_column.key == "node"
        assert app.screen.rows.ids()[0] == sample.sandboxes()[0].sandbox_id  # manager-1 < worker-1


async def test_a_node_filter_naming_no_node_says_which_there_are():
    app = SbtuiApp(client=sample.SampleClient(), clock=sample.clock, keymap_path=KEYMAP)
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: app.store.synced and len(app.screen.rows), "the sample sandboxes")
        await pilot.press("slash", *"node:22-alpine", "enter")
        await until(pilot, lambda: not len(app.screen.rows), "the filter to apply")
        await pilot.pause()
        assert "no sandbox is on node 22-alpine; nodes: manager-1, worker-1, worker-2" in header(app)
