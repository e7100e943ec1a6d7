"""SVG snapshot of the Terminal widget: coloured prompt, 256/truecolor, wide characters, cursor."""

from __future__ import annotations

from tests.tui.terminal_host import PROMPT, TerminalHost, shown

SESSION = (
    PROMPT
    + "echo 你好 ok\r\n你好 ok\r\n".encode()
    + PROMPT
    + b"ls --color\r\n"
    + b"\x1b[38;5;208mREADME.md\x1b[0m  \x1b[1;38;2;80;160;255msrc\x1b[0m  "
    + b"\x1b[4mnotes\x1b[0m  \x1b[7mreverse\x1b[0m\r\n"
    + PROMPT
)


def test_terminal_snapshot(snap_compare):
    async def run_before(pilot) -> None:
        await shown(pilot, pilot.app.terminal, SESSION)

    assert snap_compare(TerminalHost(), terminal_size=(48, 8), run_before=run_before)
