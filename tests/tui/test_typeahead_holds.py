"""TypeAhead's holds, in a small Textual app: keys typed after a key whose action goes on in the
background (opening a shell) wait for it, and are dropped, not misdelivered, when it fails.

The bursts are posted the way Textual's terminal driver posts keys it read together: all at once,
with no pause for the app in between.
"""

from __future__ import annotations

import asyncio

from textual import events, work
from textual.app import App, ComposeResult
from textual.widgets import Input

from sbtui.tui import typeahead
from sbtui.tui.typeahead import TypeAhead
from tests.tui.waiting import until


class Host(App[None]):
    """`o` opens the second input in the background: it waits for `opened` (True: focus it,
    False: fail)."""

    BINDINGS = [("o", "open", "Open")]

    def __init__(self) -> None:
        super().__init__()
        self.typeahead = TypeAhead(self)
        self.outcome: asyncio.Future[bool] | None = None
        self.dropped: list[int] = []

    def compose(self) -> ComposeResult:
        yield Input(id="first")
        yield Input(id="second")

    async def on_event(self, event: events.Event) -> None:
        if not self.typeahead.keeps(event):  # as SbtuiApp does
            await super().on_event(event)

    def action_open(self) -> None:
        self.outcome = asyncio.get_running_loop().create_future()
        self._open(self.typeahead.hold("opening"))

    @work
    async def _open(self, held: typeahead.Hold) -> None:
        try:
            if await self.outcome:
                self.query_one("#second").focus()
            else:
                self.dropped.append(held.drop())
        finally:
            held.release()

    def burst(self, text: str, paste: str = "") -> None:
        for char in text:
            self.post_message(events.Key("o" if char == "o" else char, char))
        if paste:
            self.post_message(events.Paste(paste))


def value(ui: Host, which: str) -> str:
    return ui.query_one(f"#{which}", Input).value


async def test_keys_after_a_hold_wait_for_it_then_go_in_order():
    ui = Host()
    async with ui.run_test() as pilot:
        ui.screen.set_focus(None)  # keys land on the app's bindings, not an input
        await pilot.pause()
        ui.burst("oabc", paste="de")
        await until(pilot, lambda: ui.outcome is not None, "the open to start")
        await pilot.pause(0.2)
        assert (value(ui, "first"), value(ui, "second")) == ("", "")  # nothing went anywhere
        assert ui.typeahead.waiting == 4
        ui.outcome.set_result(True)
        await until(pilot, lambda: value(ui, "second") == "abcde", "the keys in the opened input")
        assert value(ui, "first") == ""


async def test_a_failed_step_drops_the_keys_typed_for_it():
    ui = Host()
    async with ui.run_test() as pilot:
        ui.screen.set_focus(None)
        await pilot.pause()
        ui.burst("oxyz")
        await until(pilot, lambda: ui.outcome is not None, "the open to start")
        ui.outcome.set_result(False)
        await until(pilot, lambda: ui.dropped, "the failure")
        assert ui.dropped == [3]
        ui.query_one("#first").focus()  # and the next keys go through again
        await pilot.press("q")
        await until(pilot, lambda: value(ui, "first") == "q", "a key after the failure")


async def test_a_step_that_never_ends_lets_the_keys_go(monkeypatch):
    monkeypatch.setattr(typeahead, "HOLD_LIMIT", 0.3)
    ui = Host()
    async with ui.run_test(notifications=True) as pilot:
        ui.screen.set_focus(None)
        await pilot.pause()
        ui.burst("oxy")
        await until(
            pilot,
            lambda: [n for n in ui._notifications if "took over" in n.message],
            "the held keys to be let go, and the operator told",
        )
        assert ui.typeahead.waiting == 0
        notes = [n.message for n in ui._notifications]
        assert notes == ["opening took over 0 s: the 2 key(s) typed after it were dropped"]
        ui.query_one("#first").focus()
        await pilot.press("z")
        await until(pilot, lambda: value(ui, "first") == "z", "keys taken again")


async def test_ctrl_q_is_never_held():
    ui = Host()
    async with ui.run_test() as pilot:
        ui.screen.set_focus(None)
        await pilot.pause()
        ui.burst("oab")
        await until(pilot, lambda: ui.typeahead.waiting == 2, "the keys held")
        ui.post_message(events.Key("ctrl+q", "\x11"))
        await until(pilot, lambda: ui._exit, "the app to quit while keys are held", timeout=5)


async def test_tab_moves_the_rest_of_a_burst_to_the_next_input():
    ui = Host()
    async with ui.run_test() as pilot:
        ui.query_one("#first").focus()
        await pilot.pause()
        for char in "ab\tcd":
            ui.post_message(events.Key("tab" if char == "\t" else char, None if char == "\t" else char))
        await until(pilot, lambda: value(ui, "second") == "cd", "the keys after tab in the second input")
        assert value(ui, "first") == "ab"
