"""Shell sessions against a real server and engine: type, see the answer on the terminal's
screen, resize, detach and go back in."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from sbtui.client import SandboxState
from sbtui.tui.app import SbtuiApp
from sbtui.tui.screens.sandbox_list import SandboxListScreen
from sbtui.tui.screens.sessions import SessionsScreen
from sbtui.tui.screens.shell import ShellScreen
from tests.tui.waiting import until

pytestmark = pytest.mark.engine

NO_KEYS = Path("/nonexistent/sbtui/keys.toml")


def screen_text(ui: SbtuiApp) -> str:
    screen = ui.screen
    assert isinstance(screen, ShellScreen)
    return "\n".join(screen.terminal.vt.display)


async def type_line(pilot, text: str) -> None:
    await pilot.press(*[{" ": "space", "$": "dollar_sign"}.get(c, c) for c in text], "enter")


async def test_shell_types_resizes_detaches_and_returns(client, app, image):
    sb = await client.sandboxes.create(app, image, timeout=300)
    ui = SbtuiApp(client=client, keymap_path=NO_KEYS)
    try:
        async with ui.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: (i := ui.store.get(sb.sandbox_id)) and i.state == SandboxState.RUNNING,
                        "the sandbox in the list, running")
            list_screen = ui.screen
            assert isinstance(list_screen, SandboxListScreen)
            list_screen.select_sandbox(sb.sandbox_id)
            await pilot.press("s")
            await until(pilot, lambda: isinstance(ui.screen, ShellScreen), "the shell screen", 30)
            await until(pilot, lambda: "#" in screen_text(ui), "the shell prompt", 30)

            await pilot.press(*"echo", "space", "dollar_sign", "left_parenthesis", "left_parenthesis",
                              "6", "asterisk", "7", "right_parenthesis", "right_parenthesis", "enter")
            await until(pilot, lambda: re.search(r"^42\s*$", screen_text(ui), re.M), "42 on the terminal")

            await pilot.resize_terminal(120, 40)
            await until(pilot, lambda: ui.screen.terminal.vt.columns == 120, "the terminal to follow the window")
            await type_line(pilot, "stty size")
            # One row of the window is the session's title line.
            await until(pilot, lambda: re.search(r"^39 120\s*$", screen_text(ui), re.M), "stty size 39 120")

            await pilot.press("ctrl+right_square_bracket")
            await until(pilot, lambda: isinstance(ui.screen, SandboxListScreen), "back to the list")
            assert len(ui.sessions.items) == 1 and not ui.sessions.items[0].ended

            await pilot.press("w")
            await until(pilot, lambda: isinstance(ui.screen, SessionsScreen), "the sessions list")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(ui.screen, ShellScreen), "back in the session")
            await type_line(pilot, "echo again")
            await until(pilot, lambda: re.search(r"^again\s*$", screen_text(ui), re.M), "the same shell answering")

            await type_line(pilot, "exit 3")
            await until(pilot, lambda: ui.sessions.items[0].ended, "the shell to end")
            assert ui.sessions.items[0].exit_code == 3
            await pilot.press("ctrl+right_square_bracket")
            await until(pilot, lambda: not ui.sessions.items, "the ended session to close")
    finally:
        await sb.terminate()


async def test_readonly_dashboard_opens_no_shell(client, app, image):
    sb = await client.sandboxes.create(app, image, timeout=120)
    ui = SbtuiApp(client=client, keymap_path=NO_KEYS, readonly=True)
    try:
        async with ui.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: ui.store.get(sb.sandbox_id) is not None, "the sandbox in the list")
            ui.screen.select_sandbox(sb.sandbox_id)
            await pilot.press("s")
            await pilot.pause()
            assert not isinstance(ui.screen, ShellScreen) and not ui.sessions.items
    finally:
        await sb.terminate()


async def test_quitting_with_a_session_open_ends_it_quietly(client, app, image):
    sb = await client.sandboxes.create(app, image, timeout=120)
    ui = SbtuiApp(client=client, keymap_path=NO_KEYS)
    try:
        async with ui.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: ui.store.get(sb.sandbox_id) is not None, "the sandbox in the list")
            ui.screen.select_sandbox(sb.sandbox_id)
            await pilot.press("s")
            await until(pilot, lambda: isinstance(ui.screen, ShellScreen), "the shell screen", 30)
            await until(pilot, lambda: "#" in screen_text(ui), "the shell prompt", 30)
            session = ui.sessions.items[0]
        # The app closed the session on its way out; the session's end, reported after the
        # screen was gone, must not fail.
        await asyncio.wait_for(session.pump, 10)
        assert session.ended and session.error
    finally:
        await sb.terminate()
