"""The sandbox list against a real server and engine: live rows, filter, terminate, reconnect."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import pytest
from textual.command import CommandList, CommandPalette

import sbtui
from sbtui.client import SandboxState
from sbtui.tui.app import SbtuiApp
from sbtui.tui.screens.confirm import ConfirmScreen
from sbtui.tui.screens.sandbox_list import SandboxListScreen
from tests.servers import IMAGE, ServerProcess, new_state_dir
from tests.tui.waiting import until

pytestmark = pytest.mark.engine

SIZE = (160, 40)
NO_KEYS = Path("/nonexistent/sbtui/keys.toml")  # the default keys, whatever the user has


def dashboard(client, **options) -> SbtuiApp:
    return SbtuiApp(client=client, keymap_path=NO_KEYS, **options)


def listed(ui: SbtuiApp) -> list[str]:
    screen = ui.screen_stack[0]
    assert isinstance(screen, SandboxListScreen)
    return screen.rows.ids()


async def filter_to(pilot, text: str) -> None:
    await pilot.press("slash", *text, "enter")


async def test_list_shows_a_sandbox_created_through_the_client(client, app, image):
    ui = dashboard(client)
    # Wide enough for every column at its widest: other tests' sandboxes on the shared server
    # (long image references, many tags) widen the columns, and the last ones would be cut.
    async with ui.run_test(size=(240, 40)) as pilot:
        await until(pilot, lambda: ui.store.synced, "the first sync of the watch stream")
        sb = await client.sandboxes.create(
            app, image, timeout=120, cpu=0.5, memory_mib=64, unencrypted_ports=[8080]
        )
        try:
            await until(pilot, lambda: sb.sandbox_id in listed(ui), "the new sandbox in the list", 15)
            await until(
                pilot,
                lambda: ui.store.get(sb.sandbox_id).state == SandboxState.RUNNING,
                "its state to reach running",
                30,
            )
            # The shared server holds other tests' sandboxes: show this app's only.
            await filter_to(pilot, f"app:{app.name}")
            await until(pilot, lambda: listed(ui) == [sb.sandbox_id], "the filter to this app")
            await pilot.pause()
            drawn = ui.export_screenshot(simplify=True)
            # The long app name is cut to its column.
            assert sb.sandbox_id in drawn and app.name[:15] in drawn and "8080/tcp" in drawn
            assert "64Mi" in drawn and "running" in drawn
        finally:
            await sb.terminate()


async def test_tag_filter_narrows_the_list(client, app, image):
    tier = secrets.token_hex(3)
    gold = await client.sandboxes.create(app, image, timeout=120)
    silver = await client.sandboxes.create(app, image, timeout=120)
    try:
        await gold.set_tags({"tier": f"gold-{tier}", "env": "test"})
        await silver.set_tags({"tier": f"silver-{tier}", "env": "test"})
        ui = dashboard(client)
        async with ui.run_test(size=SIZE) as pilot:
            await until(
                pilot, lambda: {gold.sandbox_id, silver.sandbox_id} <= set(listed(ui)), "both sandboxes"
            )
            await filter_to(pilot, f"tag:env=test tag:tier=gold-{tier}")
            await until(pilot, lambda: listed(ui) == [gold.sandbox_id], "the filter to keep only gold")
            await pilot.press("escape")  # clears the filter
            await until(pilot, lambda: silver.sandbox_id in listed(ui), "the filter to be cleared")
            await filter_to(pilot, f"app:{app.name} state:bogus")
            assert "state:bogus is not a state" in ui.export_screenshot(simplify=True).replace("&#160;", " ")
            assert set(listed(ui)) >= {gold.sandbox_id, silver.sandbox_id}  # bad input changes nothing
    finally:
        await gold.terminate()
        await silver.terminate()


async def test_node_filter_keeps_the_sandboxes_of_that_node(client, server, app, image):
    host = await server.engine_host()
    sb = await client.sandboxes.create(app, image, timeout=120)
    try:
        ui = dashboard(client)
        async with ui.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: sb.sandbox_id in listed(ui), "the sandbox in the list")
            await filter_to(pilot, f"app:{app.name} node:{host}")
            await until(pilot, lambda: listed(ui) == [sb.sandbox_id], "the node filter to keep it")
            await pilot.press("escape")  # clears the filter
            await filter_to(pilot, f"app:{app.name} node:{host}-elsewhere")
            await until(pilot, lambda: listed(ui) == [], "the node filter to leave nothing")
            await pilot.pause()
            drawn = ui.export_screenshot(simplify=True).replace("&#160;", " ")
            assert f"no sandbox is on node {host}-elsewhere; nodes: {host}" in drawn
            # Every sandbox of one engine is on its host: no column to say so on each row.
            assert " NODE " not in drawn
    finally:
        await sb.terminate()


async def test_terminate_asks_first_then_ends_the_sandbox(client, app, image):
    sb = await client.sandboxes.create(app, image, timeout=120)
    ui = dashboard(client)
    try:
        async with ui.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: sb.sandbox_id in listed(ui), "the sandbox in the list")
            await filter_to(pilot, f"app:{app.name}")
            await until(pilot, lambda: listed(ui) == [sb.sandbox_id], "the app filter")
            await pilot.press("ctrl+d")
            await until(pilot, lambda: isinstance(ui.screen, ConfirmScreen), "the confirmation")
            await pilot.press("n")
            await until(pilot, lambda: isinstance(ui.screen, SandboxListScreen), "the list again")
            assert await sb.poll() is None  # "no" changed nothing
            await pilot.press("ctrl+d")
            await until(pilot, lambda: isinstance(ui.screen, ConfirmScreen), "the confirmation")
            await pilot.press("y")
            await until(
                pilot,
                lambda: ui.store.get(sb.sandbox_id).state == SandboxState.FINISHED,
                "the watch stream to report it finished",
                30,
            )
            assert await sb.poll() is not None
    finally:
        await sb.terminate()


async def test_selection_survives_new_rows_and_changes(client, app, image):
    first = await client.sandboxes.create(app, image, timeout=120)
    second = await client.sandboxes.create(app, image, timeout=120)
    later = None
    try:
        ui = dashboard(client)
        async with ui.run_test(size=SIZE) as pilot:
            await filter_to(pilot, f"app:{app.name}")
            await until(pilot, lambda: set(listed(ui)) == {first.sandbox_id, second.sandbox_id}, "both")
            screen = ui.screen
            screen.select_sandbox(first.sandbox_id)
            index = screen.rows.index_of(first.sandbox_id)
            later = await client.sandboxes.create(app, image, timeout=120)  # newest: sorts on top
            await until(pilot, lambda: later.sandbox_id in listed(ui), "the newer sandbox")
            assert screen.table.selected_id == first.sandbox_id
            assert screen.rows.index_of(first.sandbox_id) == index + 1
            await first.set_tags({"touched": "yes"})
            await until(
                pilot, lambda: ui.store.get(first.sandbox_id).tags == {"touched": "yes"}, "the tags event"
            )
            assert screen.table.selected_id == first.sandbox_id
            await pilot.press("A")  # sort by age again: now oldest first
            assert screen.table.selected_id == first.sandbox_id
            assert listed(ui)[0] == first.sandbox_id
    finally:
        for sb in (first, second, later):
            if sb is not None:
                await sb.terminate()


async def test_readonly_hides_and_refuses_terminate(client, app, image):
    sb = await client.sandboxes.create(app, image, timeout=120, unencrypted_ports=[8080])
    ui = dashboard(client, readonly=True)
    try:
        async with ui.run_test(size=SIZE) as pilot:
            await filter_to(pilot, f"app:{app.name}")
            await until(pilot, lambda: listed(ui) == [sb.sandbox_id], "the sandbox")
            assert "Terminate" not in ui.export_screenshot(simplify=True)  # not in the footer
            commands = [c.title for c in ui.get_system_commands(ui.screen)]
            assert "Terminate" not in commands and "Tunnels" in commands
            await pilot.press("ctrl+d")
            await pilot.pause()
            assert isinstance(ui.screen, SandboxListScreen)
            ui.screen.action_terminate()  # even called directly, it is refused
            await pilot.pause()
            assert isinstance(ui.screen, SandboxListScreen)
            assert await sb.poll() is None
    finally:
        await sb.terminate()


async def test_palette_lists_the_screen_actions_with_their_ids(client, app, image):
    sb = await client.sandboxes.create(app, image, timeout=120, unencrypted_ports=[8080])
    ui = dashboard(client)
    try:
        async with ui.run_test(size=SIZE) as pilot:
            await filter_to(pilot, f"app:{app.name}")
            await until(pilot, lambda: listed(ui) == [sb.sandbox_id], "the sandbox")
            helps = {c.title: c.help for c in ui.get_system_commands(ui.screen)}
            for title in (
                "Open",
                "Filter",
                "Apps",
                "Tunnels",
                "Terminate",
                "Sort",
                "Sort by name",
                "Help",
                "Quit",
            ):
                assert title in helps, title
            assert "id sort.name" in helps["Sort by name"]
            await pilot.press("ctrl+p", *"sort by name")

            def offered() -> list[str]:
                if not isinstance(ui.screen, CommandPalette):
                    return []
                commands = ui.screen.query_one(CommandList)
                return [
                    str(commands.get_option_at_index(i).prompt).splitlines()[0]
                    for i in range(commands.option_count)
                ]

            await until(pilot, lambda: offered()[:1] == ["Sort by name"], "the palette to offer it first")
            await pilot.press("enter")
            await until(pilot, lambda: ui.screen_stack[0].rows.sort_column.key == "name", "the sort to apply")
            await sb.terminate()
            await until(
                pilot,
                lambda: "Terminate" not in [c.title for c in ui.get_system_commands(ui.screen_stack[0])],
                "terminate to leave the palette once the sandbox finished",
                30,
            )
    finally:
        await sb.terminate()


async def test_keys_toml_remaps_by_binding_id(client, tmp_path):
    keys = tmp_path / "keys.toml"
    keys.write_text('filter = "f"\nnope = "x"\n')
    ui = SbtuiApp(client=client, keymap_path=keys)
    async with ui.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: ui.store.synced, "the first sync")
        await pilot.press("f")
        assert ui.focused is not None and ui.focused.id == "filter-input"
        assert len(ui.keymap_problems) == 1 and "no binding has the id 'nope'" in ui.keymap_problems[0]


@pytest.fixture
def own_server(engine):
    proc = ServerProcess(engine, new_state_dir(engine + "-tui")).start()
    yield proc
    proc.dispose()


async def test_connection_loss_shows_a_banner_and_reconnects(own_server):
    async with sbtui.Client.connect(own_server.address) as client:
        app = await client.apps.from_name("tui-reconnect", create_if_missing=True)
        image = client.images.from_registry(IMAGE)
        kept = await client.sandboxes.create(app, image, timeout=120)
        ui = SbtuiApp(address=own_server.address, keymap_path=NO_KEYS, reconnect_delay=lambda attempt: 0.2)
        async with ui.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: kept.sandbox_id in listed(ui), "the sandbox")
            banner = ui.screen.query_one("ConnectionBanner")
            assert not banner.display
            own_server.kill()
            await until(pilot, lambda: banner.display, "the connection-lost banner")
            assert "connection lost, reconnecting" in str(banner.render())
            assert kept.sandbox_id in listed(ui)  # the last picture stays while we retry
            await asyncio.to_thread(own_server.start)
            await until(pilot, lambda: not banner.display, "the banner to go", 60)
            made_while_back = await client.sandboxes.create(app, image, timeout=120)
            await until(pilot, lambda: made_while_back.sandbox_id in listed(ui), "events after the reconnect")
            assert kept.sandbox_id in listed(ui)
        await kept.terminate()
        await made_while_back.terminate()


async def test_header_click_and_app_switcher(client, app, image):
    named = await client.sandboxes.create(app, image, timeout=120, name="zz-last")
    other = await client.sandboxes.create(app, image, timeout=120, name="aa-first")
    ui = dashboard(client)
    try:
        async with ui.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: {named.sandbox_id, other.sandbox_id} <= set(listed(ui)), "both")
            await pilot.press("a", *app.name[2:12])  # a fuzzy piece of the name
            await pilot.press("enter")
            await until(
                pilot, lambda: set(listed(ui)) == {named.sandbox_id, other.sandbox_id}, "the app filter"
            )
            assert ui.screen.query_one("#filter-input").value == f"app:{app.name}"
            table = ui.screen.table
            name_x = table.column_span("name")[0] + 1
            await pilot.click(table, offset=(name_x, 0))
            await until(pilot, lambda: table.rows.sort_column.key == "name", "the sort by name")
            assert listed(ui) == [other.sandbox_id, named.sandbox_id]
            await pilot.click(table, offset=(name_x, 0))  # again: the other way
            await until(
                pilot, lambda: listed(ui) == [named.sandbox_id, other.sandbox_id], "the reversed sort"
            )
    finally:
        await named.terminate()
        await other.terminate()


async def test_output_printed_while_the_dashboard_runs_leaves_it_running(client, app, image):
    # Textual captures print() while the app runs; a library that prints must not take it down.
    sb = await client.sandboxes.create(app, image, timeout=120)
    ui = dashboard(client)
    try:
        async with ui.run_test(size=SIZE) as pilot:
            print("a library speaking", flush=True)
            await until(pilot, lambda: sb.sandbox_id in listed(ui), "the sandbox listed")
            assert ui.is_running
    finally:
        await sb.terminate()
