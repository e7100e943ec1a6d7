"""The Terminal widget in a running app (Pilot): keys, pastes, answers, size, rendering, floods."""

from __future__ import annotations

import time

from rich.color import Color
from textual import events
from textual.command import CommandPalette

from sbtui.tui.widgets.terminal import Terminal
from tests.tui.terminal_host import PROMPT, TerminalHost, shown, wait_for


async def test_keys_reach_the_program():
    app = TerminalHost()
    async with app.run_test() as pilot:
        await pilot.press(
            "l",
            "s",
            "enter",
            "ctrl+c",
            "f5",
            "alt+x",
            "tab",
            "backspace",
            "up",
            "ctrl+left",
            "pageup",
            "escape",
        )
        assert app.sent == [
            b"l",
            b"s",
            b"\r",
            b"\x03",
            b"\x1b[15~",
            b"\x1bx",
            b"\t",
            b"\x7f",
            b"\x1b[A",
            b"\x1b[1;5D",
            b"\x1b[5~",
            b"\x1b",
        ]


async def test_cursor_keys_follow_the_program_s_cursor_key_mode():
    app = TerminalHost()
    async with app.run_test() as pilot:
        await shown(pilot, app.terminal, b"\x1b[?1h")  # DECCKM on, as vim and less set it
        await pilot.press("up", "left")
        await shown(pilot, app.terminal, b"\x1b[?1l")
        await pilot.press("up")
        assert app.sent == [b"\x1bOA", b"\x1bOD", b"\x1b[A"]


async def test_priority_bindings_do_not_steal_keys_from_the_program():
    app = TerminalHost()
    async with app.run_test() as pilot:
        await pilot.press("ctrl+q", "ctrl+p", "ctrl+c")  # quit, palette, help-quit in Textual
        assert app.sent == [b"\x11", b"\x10", b"\x03"]
        assert app.is_running
        assert not isinstance(app.screen, CommandPalette)


async def test_the_escape_key_and_the_key_after_it_are_commands_not_input():
    app = TerminalHost()
    async with app.run_test() as pilot:
        await pilot.press(Terminal.ESCAPE_KEY)
        assert app.escaped == 1 and app.sent == []
        assert not app.terminal.check_consume_key(Terminal.ESCAPE_KEY, None)
        # One burst: the widget itself knows which key follows the escape key.
        await pilot.press("n", "l", Terminal.ESCAPE_KEY, Terminal.ESCAPE_KEY, "ctrl+c")
        assert app.commands == [("n", "n"), (Terminal.ESCAPE_KEY, None)]
        assert app.sent == [b"l", b"\x03"]
        app.terminal.send_key(Terminal.ESCAPE_KEY)  # what a command may pass on
        assert app.sent[-1] == b"\x1d"


async def test_another_escape_key_frees_ctrl_right_square_bracket():
    app = TerminalHost()
    app.terminal.escape_key = "ctrl+backslash,f12"
    async with app.run_test() as pilot:
        await pilot.press("ctrl+right_square_bracket", "f12", "p", "ctrl+backslash", "escape")
        assert app.sent == [b"\x1d"]
        assert [key for key, _ in app.commands] == ["p", "escape"] and app.escaped == 2


async def test_bracketed_paste_when_the_program_asked_for_it():
    app = TerminalHost()
    async with app.run_test() as pilot:
        app.post_message(events.Paste("echo hi\n"))
        await pilot.pause()
        await shown(pilot, app.terminal, b"\x1b[?2004h")
        app.post_message(events.Paste("echo hi\n"))
        await pilot.pause()
        assert app.sent == [b"echo hi\r", b"\x1b[200~echo hi\r\x1b[201~"]


async def test_queries_are_answered_to_the_program():
    app = TerminalHost()
    async with app.run_test() as pilot:
        await shown(pilot, app.terminal, b"\x1b[3;5H\x1b[6n\x1b[c\x1b[>c")
        assert app.sent == [b"\x1b[3;5R", b"\x1b[?1;2c", b"\x1b[>1;10;0c"]


async def test_the_size_follows_the_widget_and_reaches_the_process():
    app = TerminalHost()
    async with app.run_test(size=(50, 12)) as pilot:
        await wait_for(lambda: app.sizes == [(12, 50)], what="the first size")
        assert app.terminal.terminal_size == (12, 50)
        await pilot.resize_terminal(70, 20)
        await wait_for(lambda: app.sizes[-1:] == [(20, 70)], what="the new size")
        assert app.terminal.terminal_size == (20, 70)
        assert (app.terminal.vt.lines, app.terminal.vt.columns) == (20, 70)


async def test_a_callback_set_later_is_told_the_current_size():
    app = TerminalHost()
    async with app.run_test(size=(40, 10)):
        later: list[tuple[int, int]] = []

        async def resize(rows: int, columns: int) -> None:
            later.append((rows, columns))

        app.terminal.on_resize_process = resize
        await wait_for(lambda: later == [(10, 40)], what="the size")


async def test_rendering_merges_runs_into_styled_segments():
    app = TerminalHost()
    async with app.run_test(size=(40, 6)) as pilot:
        await shown(pilot, app.terminal, PROMPT + b"\x1b[38;2;255;128;0mhot\x1b[0m")
        strip = app.terminal.render_line(0)
        runs = [(segment.text, segment.style) for segment in strip]
        assert [text for text, _ in runs][:6] == ["user@sbtui", ":", "~/src", "$ ", "hot", " "]
        user, colon, path = runs[0][1], runs[1][1], runs[2][1]
        assert user.bold and user.color == Color.from_ansi(2)
        assert not colon.bold
        assert path.bold and path.color == Color.from_ansi(4)
        assert runs[4][1].color == Color.from_rgb(255, 128, 0)
        cursor = runs[5][1]  # the cell after "hot", reversed because the widget has focus
        assert cursor.bgcolor == user.bgcolor.__class__.from_triplet(app.terminal.rich_style.color.triplet)
        assert strip.cell_length == 40


async def test_the_cursor_shows_only_with_focus():
    app = TerminalHost()
    async with app.run_test(size=(20, 4)) as pilot:
        await shown(pilot, app.terminal, b"ab")
        assert [segment.text for segment in app.terminal.render_line(0)][:2] == ["ab", " "]
        app.set_focus(None)
        await pilot.pause()
        assert [segment.text for segment in app.terminal.render_line(0)] == ["ab" + " " * 18]


async def test_the_title_is_reported():
    app = TerminalHost()
    async with app.run_test() as pilot:
        await shown(pilot, app.terminal, b"\x1b]0;vim notes.txt\x07")
        await pilot.pause()
        assert app.titles == ["vim notes.txt"]


async def test_scrollback_view_and_back_to_live_on_a_key():
    app = TerminalHost()
    async with app.run_test(size=(30, 10)) as pilot:
        terminal = app.terminal
        await shown(pilot, terminal, b"".join(b"line %d\r\n" % n for n in range(1, 101)))
        assert terminal.render_line(0).text.rstrip() == "line 92"
        await pilot.press("shift+pageup")
        assert terminal.history_offset == 9
        assert terminal.render_line(0).text.rstrip() == "line 83"
        assert terminal.has_class("-scrolled-back")
        await shown(pilot, terminal, b"more\r\n")  # output doesn't move the view
        assert terminal.render_line(0).text.rstrip() == "line 83"
        await pilot.press("shift+pagedown")
        assert terminal.history_offset == 1
        terminal.post_message(events.MouseScrollUp(terminal, 0, 0, 0, -1, 0, False, False, False))
        await pilot.pause()
        assert terminal.history_offset == 1 + Terminal.WHEEL_LINES
        await pilot.press("x")
        assert terminal.history_offset == 0
        assert app.sent == [b"x"]
        assert terminal.render_line(8).text.rstrip() == "more"


async def test_the_wheel_sends_arrows_on_the_alternate_screen():
    app = TerminalHost()
    async with app.run_test() as pilot:
        terminal = app.terminal
        await shown(pilot, terminal, b"\x1b[?1049h\x1b[?1h")
        terminal.post_message(events.MouseScrollDown(terminal, 0, 0, 0, 1, 0, False, False, False))
        await pilot.pause()
        assert app.sent == [b"\x1bOB" * Terminal.WHEEL_LINES]
        assert terminal.history_offset == 0


async def test_a_flood_never_keeps_a_key_waiting():
    app = TerminalHost()
    async with app.run_test(size=(120, 40)) as pilot:
        terminal = app.terminal
        await pilot.pause()
        lines = b"".join(
            b"\x1b[3%dm%08d\x1b[0m some output of a busy program\r\n" % (n % 8, n) for n in range(120_000)
        )
        flood = lines + b"$ done"
        assert len(flood) > 5_000_000
        terminal.feed(flood)
        # Let the flood get going, then press ctrl+c the way the driver delivers a key.
        await wait_for(lambda: terminal.backlog < len(flood), what="parsing to start")
        app.got_input.clear()
        pressed = time.perf_counter()
        app.post_message(events.Key("ctrl+c", "\x03"))
        await wait_for(app.got_input.is_set, timeout=2, what="ctrl+c to reach the program")
        latency = app.sent_at[-1] - pressed
        backlog = terminal.backlog
        assert app.sent == [b"\x03"]
        assert backlog > 1_000_000, "the flood should still be running when the key arrives"
        assert latency < 0.1, f"ctrl+c waited {latency * 1000:.0f} ms behind the flood"
        await wait_for(lambda: terminal.backlog == 0, timeout=60, what="the flood to be shown")
        await shown(pilot, terminal)
        assert terminal.render_line(39).text.rstrip() == "$ done"
        assert terminal.render_line(38).text.startswith("00119999 some output")


async def test_write_waits_while_the_backlog_is_over_the_limit():
    app = TerminalHost()
    async with app.run_test() as pilot:
        terminal = app.terminal
        terminal.BACKLOG_LIMIT = 64 * 1024
        await terminal.write(b"y\r\n" * 400_000)
        assert terminal.backlog <= 64 * 1024
        await shown(pilot, terminal)
        assert terminal.vt.history_added > 0


async def test_focus_changes_are_reported_when_the_program_asks():
    app = TerminalHost()
    async with app.run_test() as pilot:
        await shown(pilot, app.terminal, b"\x1b[?1004h")
        app.set_focus(None)
        await pilot.pause()
        app.terminal.focus()
        await pilot.pause()
        assert app.sent == [b"\x1b[O", b"\x1b[I"]
