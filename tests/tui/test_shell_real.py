"""Shell sessions against a real server and engine: type, see the answer on the terminal's
screen, resize, detach and go back in, switch between tabs."""

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
SESSION_KEY = "ctrl+right_square_bracket"


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
            await until(
                pilot,
                lambda: (i := ui.store.get(sb.sandbox_id)) and i.state == SandboxState.RUNNING,
                "the sandbox in the list, running",
            )
            list_screen = ui.screen
            assert isinstance(list_screen, SandboxListScreen)
            list_screen.select_sandbox(sb.sandbox_id)
            await pilot.press("s")
            await until(pilot, lambda: isinstance(ui.screen, ShellScreen), "the shell screen", 30)
            await until(pilot, lambda: "#" in screen_text(ui), "the shell prompt", 30)

            await pilot.press(
                *"echo",
                "space",
                "dollar_sign",
                "left_parenthesis",
                "left_parenthesis",
                "6",
                "asterisk",
                "7",
                "right_parenthesis",
                "right_parenthesis",
                "enter",
            )
            await until(pilot, lambda: re.search(r"^42\s*$", screen_text(ui), re.M), "42 on the terminal")

            await pilot.resize_terminal(120, 40)
            await until(
                pilot, lambda: ui.screen.terminal.vt.columns == 120, "the terminal to follow the window"
            )
            await type_line(pilot, "stty size")
            # One row of the window is the session's title line.
            await until(pilot, lambda: re.search(r"^39 120\s*$", screen_text(ui), re.M), "stty size 39 120")

            await pilot.press(SESSION_KEY, "d")
            await until(pilot, lambda: isinstance(ui.screen, SandboxListScreen), "back to the list")
            assert len(ui.sessions.items) == 1 and not ui.sessions.items[0].ended

            await pilot.press("w")
            await until(pilot, lambda: isinstance(ui.screen, SessionsScreen), "the sessions list")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(ui.screen, ShellScreen), "back in the session")
            await type_line(pilot, "echo again")
            await until(
                pilot, lambda: re.search(r"^again\s*$", screen_text(ui), re.M), "the same shell answering"
            )

            await type_line(pilot, "exit 3")
            await until(pilot, lambda: ui.sessions.items[0].ended, "the shell to end")
            assert ui.sessions.items[0].exit_code == 3
            await pilot.press(SESSION_KEY, "x")
            await until(pilot, lambda: not ui.sessions.items, "the ended session to close")
            assert isinstance(ui.screen, SandboxListScreen)
    finally:
        await sb.terminate()


def shown_text(ui: SbtuiApp, session) -> str:
    return "\n".join(ui.shell_screen(session).terminal.vt.display)


def tabs_text(ui: SbtuiApp) -> str:
    return ui.screen.tabs.render().plain


async def open_shell(pilot, ui: SbtuiApp, sandbox_id: str):
    """A new session in `sandbox_id`, from the list, at its prompt."""
    await until(
        pilot,
        lambda: (i := ui.store.get(sandbox_id)) and i.state == SandboxState.RUNNING,
        "the sandbox in the list, running",
    )
    ui.screen_stack[0].select_sandbox(sandbox_id)
    count = len(ui.sessions.items)
    await pilot.press("s")
    session = await until(
        pilot, lambda: len(ui.sessions.items) > count and ui.sessions.items[-1], "a new session", 30
    )
    await until(
        pilot,
        lambda: ui.screen is ui.shell_screen(session) and "#" in shown_text(ui, session),
        "its prompt",
        30,
    )
    return session


async def test_tabs_switch_between_sessions_that_live_on(client, app, image):
    first = await client.sandboxes.create(app, image, timeout=300, name=f"tabs-{app.app_id[-6:].lower()}")
    second = await client.sandboxes.create(app, image, timeout=300)
    ui = SbtuiApp(client=client, keymap_path=NO_KEYS)
    try:
        async with ui.run_test(size=(120, 30)) as pilot:
            one = await open_shell(pilot, ui, first.sandbox_id)
            await type_line(pilot, "echo one-$((6*7))")
            await until(
                pilot, lambda: re.search(r"^one-42\s*$", shown_text(ui, one), re.M), "one-42 in session 1"
            )
            await pilot.press(SESSION_KEY, "d")
            await until(pilot, lambda: isinstance(ui.screen, SandboxListScreen), "back to the list")

            two = await open_shell(pilot, ui, second.sandbox_id)
            assert (one.number, two.number) == (1, 2)
            tabs = tabs_text(ui)
            assert f"1 {first.info.name}" in tabs and f"2 {second.sandbox_id}" in tabs
            # Output of a session not shown is parsed all the same: switch away while it runs.
            await type_line(pilot, "sleep 2; echo two-$((6*7))")
            await pilot.press(SESSION_KEY, "p")
            await until(pilot, lambda: ui.screen is ui.shell_screen(one), "session 1 by the previous-tab key")
            assert re.search(r"^one-42\s*$", shown_text(ui, one), re.M)
            await until(
                pilot,
                lambda: re.search(r"^two-42\s*$", shown_text(ui, two), re.M),
                "two-42 parsed in session 2 while session 1 is shown",
                30,
            )
            await type_line(pilot, "echo again-$((7*6))")
            await until(
                pilot, lambda: re.search(r"^again-42\s*$", shown_text(ui, one), re.M), "session 1 typing"
            )
            assert "again" not in shown_text(ui, two)

            await pilot.press(SESSION_KEY, "n")
            await until(pilot, lambda: ui.screen is ui.shell_screen(two), "session 2 by the next-tab key")
            # ctrl+] then ] gives the program the ctrl+] itself.
            await type_line(pilot, "cat -v")
            await pilot.press(SESSION_KEY, "right_square_bracket", "enter")
            await until(
                pilot, lambda: re.search(r"^\^\]\s*$", shown_text(ui, two), re.M), "^] read by cat -v"
            )
            await pilot.press("ctrl+d")

            await pilot.press(SESSION_KEY, "1")
            await until(pilot, lambda: ui.screen is ui.shell_screen(one), "session 1 by its number")
            await type_line(pilot, "exit 3")
            await until(pilot, lambda: one.ended, "session 1 to end")
            await until(pilot, lambda: "1 " + first.info.name + " exit 3" in tabs_text(ui), "its tab marked")

            await pilot.press(SESSION_KEY, "d")
            await until(pilot, lambda: isinstance(ui.screen, SandboxListScreen), "back to the list")
            assert ui.sessions.items == [one, two]  # the ended one stays until closed
            await pilot.press("w")
            await until(pilot, lambda: isinstance(ui.screen, SessionsScreen), "the sessions list")
            await pilot.press("down", "enter")
            await until(pilot, lambda: ui.screen is ui.shell_screen(two), "back in session 2")
            assert "1 " + first.info.name + " exit 3" in tabs_text(ui)
            await type_line(pilot, "echo back-$((6*7))")
            await until(
                pilot, lambda: re.search(r"^back-42\s*$", shown_text(ui, two), re.M), "session 2 typing"
            )

            await pilot.press(SESSION_KEY, "x")  # session 2 runs: its tab stays
            await pilot.press(SESSION_KEY, "1")
            await until(pilot, lambda: ui.screen is ui.shell_screen(one), "the ended session")
            await pilot.press(SESSION_KEY, "x")
            await until(
                pilot,
                lambda: ui.sessions.items == [two] and ui.screen is ui.shell_screen(two),
                "the ended session closed, the other one shown",
            )
            assert "exit 3" not in tabs_text(ui) and not two.ended
    finally:
        await first.terminate()
        await second.terminate()


async def test_session_keys_follow_keys_toml(client, app, image, tmp_path):
    keys = tmp_path / "keys.toml"
    keys.write_text('[session]\nkey = "ctrl+b"\nnext = "tab"\n')
    sb = await client.sandboxes.create(app, image, timeout=300)
    ui = SbtuiApp(client=client, keymap_path=keys)
    try:
        async with ui.run_test(size=(120, 30)) as pilot:
            one = await open_shell(pilot, ui, sb.sandbox_id)
            assert "^b then tab/p switch" in tabs_text(ui)
            # ctrl+] is the program's again.
            await type_line(pilot, "cat -v")
            await pilot.press(SESSION_KEY, "enter")
            await until(
                pilot, lambda: re.search(r"^\^\]\s*$", shown_text(ui, one), re.M), "^] read by cat -v"
            )
            await pilot.press("ctrl+c", "ctrl+b", "d")
            await until(pilot, lambda: isinstance(ui.screen, SandboxListScreen), "back to the list")
            two = await open_shell(pilot, ui, sb.sandbox_id)
            await pilot.press("ctrl+b", "tab")
            await until(pilot, lambda: ui.screen is ui.shell_screen(one), "session 1 by the remapped keys")
            await pilot.press("ctrl+b", "tab")
            await until(pilot, lambda: ui.screen is ui.shell_screen(two), "round to session 2")
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
