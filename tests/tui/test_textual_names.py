"""Names Textual itself reads on a screen or widget keep Textual's meaning there: its help panel
reads a widget's HELP (markdown) up the focus chain. A screen of ours that gave it a meaning of
its own broke the Textual feature that reads it, with a crash of the dashboard."""

from __future__ import annotations

from textual.widgets import HelpPanel

from tests.tui.screenshots import SIZE, make_app
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

