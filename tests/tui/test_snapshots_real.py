"""The snapshots screen against a real server and engine: list, open the source, start a copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from sbtui.client import SandboxState
from sbtui.tui.app import SbtuiApp
from sbtui.tui.screens.sandbox_detail import SandboxDetailScreen
from sbtui.tui.screens.sandbox_list import SandboxListScreen
from sbtui.tui.screens.snapshot import SnapshotScreen
from sbtui.tui.screens.snapshots import SnapshotsScreen
from tests.tui.waiting import until

pytestmark = pytest.mark.engine

SIZE = (160, 40)
NO_KEYS = Path("/nonexistent/sbtui/keys.toml")


def row_text(screen: SnapshotsScreen, image_id: str) -> str:
    return " ".join(cell.plain for cell in screen.table.get_row(image_id))


async def test_snapshot_listed_with_its_source_and_started_into_the_list(client, app, image):
    sb = await client.sandboxes.create(app, image, command=["sleep", "300"], timeout=120, memory_mib=80)
    made_id = None
    ui = SbtuiApp(client=client, keymap_path=NO_KEYS)
    try:
        p = await sb.exec(["sh", "-c", "echo kept > /marker"])
        assert await p.wait() == 0
        snap = await sb.snapshot_filesystem()
        async with ui.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: ui.store.get(sb.sandbox_id), "the source in the store")
            await pilot.press("i")
            screen = await until(
                pilot, lambda: isinstance(ui.screen, SnapshotsScreen) and ui.screen, "the snapshots screen"
            )
            await until(pilot, lambda: snap.image_id in screen.table.rows, "the snapshot listed", 30)
            shown = row_text(screen, snap.image_id)
            assert sb.sandbox_id in shown and app.name in shown and "running" in shown

            # The shared server holds other tests' snapshots: filter down to this one.
            await pilot.press("slash", *snap.image_id[3:], "enter")
            await until(pilot, lambda: screen.table.row_count == 1, "the filter to this snapshot")
            assert screen.table.selected_key == snap.image_id

            await pilot.press("d")
            await until(
                pilot,
                lambda: isinstance(ui.screen, SandboxDetailScreen) and ui.screen.sandbox_id == sb.sandbox_id,
                "the source's detail",
            )
            await pilot.press("escape")
            await until(
                pilot,
                lambda: ui.screen is screen and screen.table.selected_key == snap.image_id,
                "back on the snapshot",
            )

            await pilot.press("enter")
            made = await until(
                pilot,
                lambda: next((i for i in ui.store.sandboxes.values() if i.image_id == snap.image_id), None),
                "a sandbox from the snapshot",
                60,
            )
            made_id = made.sandbox_id
            await until(pilot, lambda: isinstance(ui.screen, SandboxListScreen), "back on the list")
            await until(pilot, lambda: ui.screen.table.selected_id == made_id, "the new sandbox selected")
            await until(
                pilot,
                lambda: ui.store.get(made_id).state == SandboxState.RUNNING,
                "the new sandbox running",
                60,
            )
            assert made.app_id == app.app_id
            assert list(made.params.command) == ["sleep", "300"] and made.params.memory_mib == 80
        copy = await client.sandboxes.from_id(made_id)
        p = await copy.exec(["cat", "/marker"])
        assert await p.stdout.read() == b"kept\n"
    finally:
        await sb.terminate()
        if made_id is not None:
            await (await client.sandboxes.from_id(made_id)).terminate()


async def test_a_snapshot_taken_in_the_dashboard_reaches_the_screen_beneath(client, app, image):
    sb = await client.sandboxes.create(app, image, command=["sleep", "300"], timeout=120)
    ui = SbtuiApp(client=client, keymap_path=NO_KEYS)
    try:
        async with ui.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: ui.store.get(sb.sandbox_id), "the sandbox in the store")
            await pilot.press("i")
            screen = await until(
                pilot, lambda: isinstance(ui.screen, SnapshotsScreen) and ui.screen, "the snapshots screen"
            )
            await until(pilot, lambda: screen.loaded, "the first load")
            # The snapshots screen stays beneath while a sandbox is snapshotted on top of it.
            await ui.push_screen(SandboxDetailScreen(sb.sandbox_id))
            await pilot.press("S")
            dialog = await until(
                pilot, lambda: isinstance(ui.screen, SnapshotScreen) and ui.screen, "the snapshot", 120
            )
            await until(
                pilot,
                lambda: dialog.image.image_id in screen.table.rows,
                "the new snapshot on the screen beneath",
                30,
            )
            assert sb.sandbox_id in row_text(screen, dialog.image.image_id)
    finally:
        await sb.terminate()


async def test_edit_then_start_opens_the_form_with_the_snapshot_and_its_sources_parameters(
    client, app, image
):
    from sbtui.tui.screens.create import CreateScreen

    sb = await client.sandboxes.create(app, image, command=["sleep", "300"], timeout=120, memory_mib=72)
    made_id = None
    ui = SbtuiApp(client=client, keymap_path=NO_KEYS)
    try:
        snap = await sb.snapshot_filesystem()
        async with ui.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: ui.store.get(sb.sandbox_id), "the source in the store")
            await pilot.press("i")
            screen = await until(
                pilot, lambda: isinstance(ui.screen, SnapshotsScreen) and ui.screen, "the snapshots screen"
            )
            await until(pilot, lambda: snap.image_id in screen.table.rows, "the snapshot listed", 30)
            await pilot.press("slash", *snap.image_id[3:], "enter")
            await until(pilot, lambda: screen.table.row_count == 1, "the filter to this snapshot")
            await pilot.press("e")
            form = await until(pilot, lambda: isinstance(ui.screen, CreateScreen) and ui.screen, "the form")
            texts = form.texts()
            assert texts["image"] == snap.image_id and texts["app"] == app.name
            assert texts["command"] == "sleep 300" and texts["memory_mib"] == "72Mi"
            form.set_text("memory_mib", "96Mi")  # the point of editing first
            await pilot.press("ctrl+s")
            await until(pilot, lambda: isinstance(ui.screen, SandboxListScreen), "back on the list", 60)
            made_id = await until(pilot, lambda: ui.screen.table.selected_id, "the new sandbox selected")
        made = (await client.sandboxes.from_id(made_id)).info
        assert made.image_id == snap.image_id and made.params.memory_mib == 96
    finally:
        await sb.terminate()
        if made_id is not None:
            await (await client.sandboxes.from_id(made_id)).terminate()


@pytest.mark.parametrize("loaded", [False, True], ids=["load-in-flight", "loaded"])
async def test_leaving_with_a_load_in_flight_or_a_resume_queued_fails_nothing(client, loaded):
    """Two screens popped at once (as after a create from the form): the snapshots screen gets
    its resume after it left, and a load may still be answering while its widgets go."""
    from sbtui.tui.screens.help import HelpScreen

    ui = SbtuiApp(client=client, keymap_path=NO_KEYS)
    async with ui.run_test(size=SIZE) as pilot:
        for _ in range(3):
            await pilot.press("i")
            screen = await until(
                pilot, lambda: isinstance(ui.screen, SnapshotsScreen) and ui.screen, "the snapshots screen"
            )
            if loaded:
                await until(pilot, lambda: screen.loaded, "the first load")
            await ui.push_screen(HelpScreen(screen))
            ui.pop_screen()
            ui.pop_screen()
            await until(pilot, lambda: not screen.is_attached, "the snapshots screen removed")
            await until(pilot, lambda: not any(w.node is screen for w in ui.workers), "its workers ended")
    # run_test raises here what a worker raised
