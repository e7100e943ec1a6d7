"""Names Textual itself reads on a screen or widget keep Textual's meaning there: its help panel
reads a widget's HELP (markdown) up the focus chain, its text selection a widget's scroll_offset
(an Offset). A screen or widget of ours that gave either name a meaning of its own broke the
Textual feature that reads it, with a crash of the dashboard."""

from __future__ import annotations

from textual.widgets import HelpPanel

from sbtui.tui.widgets.terminal import Terminal
from tests.tui.screenshots import SIZE, make_app
from tests.tui.terminal_host import TerminalHost, shown
from tests.tui.waiting import until


async def test_the_palettes_keys_command_shows_textuals_help_panel():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.store.synced and len(app.screen.rows), "the sample sandboxes")
        keys = next(c for c in app.get_system_commands(app.screen) if c.title == "Keys")
        keys.callback()
        await until(pilot, lambda: app.screen.query(HelpPanel), "the help panel")
        await pilot.pause()
        assert app.is_running


async def test_a_mouse_drag_over_the_terminal_leaves_it_working():
    app = TerminalHost()
    async with app.run_test(size=(60, 20)) as pilot:
        await shown(pilot, app.terminal, b"first line\r\nsecond line\r\n")
        await pilot.mouse_down(Terminal, offset=(1, 0))
        await pilot.hover(Terminal, offset=(8, 1))
        await pilot.mouse_up(Terminal, offset=(8, 1))
        await shown(pilot, app.terminal, b"third line\r\n")
        assert app.is_running
        assert "third line" in app.terminal.vt.display[2]
