"""The sandbox detail screen against a real server and engine."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from textual.geometry import Region
from textual.widgets import DataTable, Log, Static

from sbtui.client import SandboxState
from sbtui.client.reachability import check_tunnel
from sbtui.tui.app import SbtuiApp
from sbtui.tui.screens.sandbox_detail import SandboxDetailScreen
from sbtui.tui.screens.sandbox_list import SandboxListScreen
from sbtui.tui.screens.snapshot import SnapshotScreen
from sbtui.tui.screens.tunnels import TunnelsScreen
from tests.tui.waiting import until

pytestmark = pytest.mark.engine

SIZE = (160, 40)
NO_KEYS = Path("/nonexistent/sbtui/keys.toml")


async def open_detail(pilot, ui: SbtuiApp, sandbox_id: str) -> SandboxDetailScreen:
    await until(pilot, lambda: ui.store.get(sandbox_id), "the sandbox in the store")
    screen = ui.screen_stack[0]
    assert isinstance(screen, SandboxListScreen)
    screen.select_sandbox(sandbox_id)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(ui.screen, SandboxDetailScreen), "the detail screen")
    assert ui.screen.sandbox_id == sandbox_id
    return ui.screen


def text_of(screen, selector: str) -> str:
    """What the widget shows, as plain text."""
    widget = screen.query_one(selector, Static)
    lines = widget.render_lines(Region(0, 0, *widget.outer_size))
    return "\n".join(line.text for line in lines)


def drawn(ui: SbtuiApp) -> str:
    """The screen as drawn, as SVG text with plain spaces; simplified, so that text of one style
    is one piece however the compositor cut its line (at the edges of the widgets on it)."""
    return ui.export_screenshot(simplify=True).replace("&#160;", " ")


def log_text(screen, selector: str) -> str:
    return "\n".join(screen.query_one(selector, Log).lines)


async def test_detail_shows_parameters_state_and_recent_output(client, app, image):
    marker = secrets.token_hex(4)
    sb = await client.sandboxes.create(
        app,
        image,
        command=["sh", "-c", f"echo early-{marker}; sleep 1; echo later-{marker}; sleep 300"],
        cpu=0.5,
        memory_mib=96,
        timeout=120,
        env={"GREETING": "hi"},
        workdir="/tmp",
        unencrypted_ports=[8080],
        name=f"detail-{marker}",
    )
    ui = SbtuiApp(client=client, keymap_path=NO_KEYS)
    try:
        async with ui.run_test(size=SIZE) as pilot:
            screen = await open_detail(pilot, ui, sb.sandbox_id)
            await until(
                pilot,
                lambda: f"later-{marker}" in log_text(screen, "#output"),
                "the main command's output, followed",
                30,
            )
            assert f"early-{marker}" in log_text(screen, "#output")
            params = text_of(screen, "#params")
            for shown in (
                f"echo early-{marker}",
                "0.5 cores",
                "96Mi",
                "GREETING=hi",
                "/tmp",
                "8080",
                f"detail-{marker}",
                "2m",
            ):
                assert shown in params, shown
            await until(pilot, lambda: "running" in text_of(screen, "#status"), "the state")
            await sb.terminate()
            await until(pilot, lambda: "137" in text_of(screen, "#status"), "the exit code", 30)
            assert "terminated" in text_of(screen, "#status")
            await until(
                pilot, lambda: "the main command ended" in log_text(screen, "#output"), "the end of output"
            )
    finally:
        await sb.terminate()


async def test_tags_edited_in_place_reach_the_server(client, app, image):
    sb = await client.sandboxes.create(app, image, timeout=120)
    await sb.set_tags({"env": "dev"})
    ui = SbtuiApp(client=client, keymap_path=NO_KEYS)
    try:
        async with ui.run_test(size=SIZE) as pilot:
            screen = await open_detail(pilot, ui, sb.sandbox_id)
            await until(pilot, lambda: "env=dev" in text_of(screen, "#tags"), "the tags")
            await pilot.press("e")
            await until(pilot, lambda: screen.query_one("#tags-input").has_focus, "the tag editor")
            await pilot.press("end", *" team=data oops")
            await pilot.press("enter")
            await until(pilot, lambda: "'oops' has no '='" in text_of(screen, "#tags-error"), "the error")
            assert await sb.get_tags() == {"env": "dev"}  # bad input changed nothing
            await pilot.press(*["backspace"] * 5, "enter")
            await until(
                pilot,
                lambda: _async_eq(sb.get_tags(), {"env": "dev", "team": "data"}),
                "the new tags on the server",
            )
            await until(pilot, lambda: "team=data" in text_of(screen, "#tags"), "the tags event shown")
            assert not screen.query_one("#tags-input").display
    finally:
        await sb.terminate()


async def _async_eq(awaitable, expected) -> bool:
    return await awaitable == expected


async def test_exec_runs_a_command_and_shows_its_output(client, app, image):
    sb = await client.sandboxes.create(app, image, timeout=120)
    ui = SbtuiApp(client=client, keymap_path=NO_KEYS)
    try:
        async with ui.run_test(size=SIZE) as pilot:
            screen = await open_detail(pilot, ui, sb.sandbox_id)
            await pilot.press("x", *"echo $((6*7)); echo oops >&2; exit 3", "enter")
            await until(pilot, lambda: "exit code 3" in log_text(screen, "#exec-output"), "the exec to end")
            lines = log_text(screen, "#exec-output").splitlines()
            assert "42" in lines and "oops" in lines
            await pilot.press("escape")  # closes the exec panel, not the screen
            assert isinstance(ui.screen, SandboxDetailScreen) and not screen.has_class("-exec")
            await pilot.press("escape")
            assert isinstance(ui.screen, SandboxListScreen)
    finally:
        await sb.terminate()


async def test_snapshot_offers_a_sandbox_with_the_same_parameters(client, app, image):
    sb = await client.sandboxes.create(app, image, command=["sleep", "300"], timeout=120, memory_mib=80)
    made = None
    ui = SbtuiApp(client=client, keymap_path=NO_KEYS)
    try:
        p = await sb.exec(["sh", "-c", "echo kept > /marker"])
        assert await p.wait() == 0
        async with ui.run_test(size=SIZE) as pilot:
            await open_detail(pilot, ui, sb.sandbox_id)
            await pilot.press("S")
            await until(pilot, lambda: isinstance(ui.screen, SnapshotScreen), "the snapshot", 120)
            image_id = ui.screen.image.image_id
            assert image_id
            await until(pilot, lambda: image_id in ui.export_screenshot(simplify=True), "the image id shown")
            await pilot.press("enter")
            made = await until(
                pilot,
                lambda: next((i for i in ui.store.sandboxes.values() if i.image_id == image_id), None),
                "a sandbox from the snapshot",
                60,
            )
            assert list(made.params.command) == ["sleep", "300"] and made.params.memory_mib == 80
            await until(
                pilot,
                lambda: (
                    isinstance(ui.screen, SandboxDetailScreen) and ui.screen.sandbox_id == made.sandbox_id
                ),
                "the new sandbox's detail",
            )
            copy = await client.sandboxes.from_id(made.sandbox_id)
            p = await copy.exec(["cat", "/marker"])
            assert await p.stdout.read() == b"kept\n"
    finally:
        await sb.terminate()
        if made is not None:
            await (await client.sandboxes.from_id(made.sandbox_id)).terminate()


async def test_tunnels_panel_shows_and_copies_the_url(client, app, image):
    sb = await client.sandboxes.create(
        app,
        image,
        command=["sh", "-c", "while true; do echo hi | nc -l -p 8080; done"],
        unencrypted_ports=[8080],
        timeout=120,
    )
    ui = SbtuiApp(client=client, keymap_path=NO_KEYS)
    try:
        expected = (await sb.tunnels(timeout=30))[8080]
        async with ui.run_test(size=SIZE) as pilot:
            await open_detail(pilot, ui, sb.sandbox_id)
            await pilot.press("t")
            await until(
                pilot, lambda: isinstance(ui.screen, TunnelsScreen) and ui.screen.tunnels, "the tunnels"
            )
            drawn = ui.export_screenshot(simplify=True)
            assert expected.url in drawn and f"{expected.unencrypted_port}" in drawn
            await pilot.press("c")
            assert ui.clipboard == expected.url
            await pilot.press("escape")
            assert isinstance(ui.screen, SandboxDetailScreen)
    finally:
        await sb.terminate()


async def test_tunnels_panel_checks_that_each_port_can_be_reached(client, app, image):
    # Both ports are served until the panel has loaded; then the server of 9443 is stopped.
    command = ["sh", "-c", "nc -ll -p 8080 -e cat & nc -ll -p 9443 -e cat & echo $! > /tmp/9443.pid; wait"]
    sb = await client.sandboxes.create(
        app, image, command=command, unencrypted_ports=[8080], encrypted_ports=[9443], timeout=120
    )
    ui = SbtuiApp(client=client, keymap_path=NO_KEYS)
    try:
        tunnels = await sb.tunnels(timeout=30)
        pem = await client.ca_certificate()
        async with ui.run_test(size=SIZE) as pilot:
            await open_detail(pilot, ui, sb.sandbox_id)
            await pilot.press("t")
            await until(
                pilot, lambda: isinstance(ui.screen, TunnelsScreen) and ui.screen.tunnels, "the tunnels"
            )
            panel = ui.screen
            assert [state_of(panel, port) for port in (8080, 9443)] == ["ready", "ready"]
            assert "Check reachability" in drawn(ui)  # in the footer

            stop = await sb.exec(["sh", "-c", "kill $(cat /tmp/9443.pid)"])
            assert await stop.wait() == 0
            await until(pilot, lambda: _unreachable(tunnels[9443], pem), "9443 to stop being served", 30)
            await pilot.press("p")
            await until(pilot, lambda: panel.checks, "the check", 15)
            served, stopped = state_of(panel, 8080), state_of(panel, 9443)
            assert re.fullmatch(r"reachable in \d+ ms \(TLS\), \d+ ms \(TCP\)", served), served
            assert stopped == "nothing listens on port 9443 in the sandbox"
            await until(pilot, lambda: stopped in drawn(ui) and served in drawn(ui), "the results drawn")
            assert "1 of 2 port(s) reachable" in text_of(panel, "#tunnels-status")
    finally:
        await sb.terminate()


def state_of(panel: TunnelsScreen, port: int) -> str:
    table = panel.query_one(DataTable)
    return str(table.get_cell(str(port), table.ordered_columns[-1].key))


async def _unreachable(tunnel, pem: str) -> bool:
    return not (await check_tunnel(tunnel, pem)).ok


async def test_readonly_detail_refuses_every_change(client, app, image):
    sb = await client.sandboxes.create(app, image, timeout=120)
    ui = SbtuiApp(client=client, keymap_path=NO_KEYS, readonly=True)
    try:
        async with ui.run_test(size=SIZE) as pilot:
            screen = await open_detail(pilot, ui, sb.sandbox_id)
            await pilot.pause()
            footer = ui.export_screenshot(simplify=True)
            for hidden in ("Edit tags", "Exec", "Snapshot", "Terminate"):
                assert hidden not in footer
            await pilot.press("e", "x", "S", "ctrl+d")
            await pilot.pause()
            assert ui.screen is screen and not screen.has_class("-exec")
            assert not screen.query_one("#tags-input").display
            assert await sb.poll() is None and ui.store.get(sb.sandbox_id).state == SandboxState.RUNNING
    finally:
        await sb.terminate()
