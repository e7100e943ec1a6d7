"""The dashboard never hands a tenant's control characters to the terminal: tags, command
arguments and a node name holding escape sequences (window title, clipboard through OSC 52, clear screen), a
carriage return, a C1 CSI and bidi overrides are drawn escaped in the list and the detail.

A rendering test with fixed data: what is checked is the frame the compositor would write to the
terminal, Textual's own escape sequences included.
"""

from __future__ import annotations

from sbtui.tui.app import SbtuiApp
from tests.escapes import HOSTILE
from tests.tui import sample
from tests.tui.screenshots import KEYMAP
from tests.tui.waiting import until

# The parts of HOSTILE a terminal would act on; Textual itself writes none of them in a frame.
ACTED_ON = ("\x1b]0;owned", "\x1b]52;c;", "\x1b[2J", "\x07", "\rFAKE", "\x7f", "\x9b", "\u202e", "\u2066")


def frame(app: SbtuiApp) -> str:
    return app.screen._compositor.render_full_update().render_segments(app.console)


def assert_drawn_escaped(text: str, what: str) -> None:
    found = [part for part in ACTED_ON if part in text]
    assert not found, f"{what}: {found} reach the terminal"
    assert "\\x1b]0;owned" in text, f"{what}: the escaped text is not shown"


async def test_tags_and_command_arguments_are_drawn_escaped():
    info = sample.sandbox(
        1,
        "web",
        name="hostile",
        tags={f"k{HOSTILE}": f"v{HOSTILE}"},
        command=["sh", "-c", "sleep 600", HOSTILE],
        node=f"n{HOSTILE}",  # a cluster's node names are its admin's, shown in the detail
    )
    app = SbtuiApp(client=sample.SampleClient([info]), clock=sample.clock, keymap_path=KEYMAP)
    async with app.run_test(size=(240, 50)) as pilot:
        await until(pilot, lambda: app.store.synced and len(app.screen.rows), "the sandbox listed")
        await pilot.pause()
        assert_drawn_escaped(frame(app), "the list")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.query("#params"), "the detail screen")
        await pilot.pause()
        assert_drawn_escaped(frame(app), "the detail")
