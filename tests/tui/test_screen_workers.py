"""Workers of a screen that leaves the stack end as it leaves, not after its widgets are gone;
installed screens (shell sessions) keep theirs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual import work
from textual.screen import Screen
from textual.widgets import Static

from sbtui.tui.app import SbtuiApp
from tests.tui.waiting import until

pytestmark = pytest.mark.engine

NO_KEYS = Path("/nonexistent/sbtui/keys.toml")


class Waiting(Screen):
    """A screen whose worker waits for a reply, then touches its widgets."""

    def __init__(self, reply: asyncio.Event) -> None:
        super().__init__()
        self.reply = reply

    def compose(self):
        yield Static(id="answer")

    def on_mount(self) -> None:
        self.worker = self.wait_for_reply()

    @work
    async def wait_for_reply(self) -> None:
        await self.reply.wait()
        self.query_one("#answer", Static).update("answered")


@pytest.mark.parametrize("installed", [False, True], ids=["pushed", "installed"])
async def test_a_popped_screens_workers_end_at_once_unless_installed(client, installed):
    ui = SbtuiApp(client=client, keymap_path=NO_KEYS)
    reply = asyncio.Event()
    async with ui.run_test(size=(100, 30)) as pilot:
        screen = Waiting(reply)
        if installed:
            ui.install_screen(screen, "waiting")
        await ui.push_screen(screen)
        await until(pilot, lambda: screen.worker.is_running, "the worker waiting")
        ui.pop_screen()
        assert screen.worker.is_cancelled is not installed
        reply.set()  # the reply lands while the screen is being taken down
        if installed:
            await until(pilot, lambda: screen.worker.is_finished, "the installed screen's worker done")
            assert str(screen.query_one("#answer", Static).render()) == "answered"
        else:
            await until(pilot, lambda: not screen.is_attached, "the screen removed")
            await until(pilot, lambda: screen.worker.is_finished, "its worker ended")
