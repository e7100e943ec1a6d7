"""Rows to Strips: merged runs, cached styles, wide characters, the cursor."""

from __future__ import annotations

from rich.color import Color
from rich.style import Style

from sbtui.tui.terminal import TerminalScreen, TerminalStream
from sbtui.tui.terminal.render import StyleCache, parse_color, render_row

FG = Color.from_rgb(200, 200, 200)
BG = Color.from_rgb(10, 10, 10)


def screen_of(data: bytes, columns: int = 12) -> TerminalScreen:
    screen = TerminalScreen(columns, 2)
    TerminalStream(screen).feed_bytes(data)
    return screen


def segments(strip):
    return [(segment.text, segment.style) for segment in strip]


def test_runs_of_one_style_become_one_segment():
    screen = screen_of(b"\x1b[1;31mred\x1b[0m plain \x1b[44mbg")
    styles = StyleCache(FG, BG)
    strip = render_row(screen.buffer[0], 12, styles)
    assert strip.cell_length == 12
    assert segments(strip) == [
        ("red", Style(color=Color.from_ansi(1), bgcolor=BG, bold=True)),
        (" plain ", Style(color=FG, bgcolor=BG)),
        ("bg", Style(color=FG, bgcolor=Color.from_ansi(4))),
    ]


def test_styles_are_cached_per_attributes():
    screen = screen_of(b"\x1b[32ma\x1b[0mb\x1b[32mc")
    styles = StyleCache(FG, BG)
    first = segments(render_row(screen.buffer[0], 12, styles))
    assert first[0][1] is first[2][1]


def test_256_and_truecolor():
    assert parse_color("ff8700") == Color.from_rgb(255, 135, 0)
    assert parse_color("brightblue") == Color.from_ansi(12)
    assert parse_color("brown") == Color.from_ansi(3)
    assert parse_color("default") is None
    screen = screen_of(b"\x1b[38;2;1;2;3;48;5;196mx")
    (text, style), *_ = segments(render_row(screen.buffer[0], 12, StyleCache(FG, BG)))
    assert text == "x"
    assert style.color == Color.from_rgb(1, 2, 3) and style.bgcolor == Color.from_rgb(255, 0, 0)


def test_reverse_video_swaps_the_colours_including_defaults():
    screen = screen_of(b"\x1b[7mr\x1b[31mR")
    strip = render_row(screen.buffer[0], 12, StyleCache(FG, BG))
    (r, r_style), (big_r, big_r_style), _ = segments(strip)
    assert (r_style.color, r_style.bgcolor) == (BG, FG)
    assert (big_r_style.color, big_r_style.bgcolor) == (BG, Color.from_ansi(1))


def test_reverse_screen_mode_swaps_everything():
    screen = screen_of(b"x")
    styles = StyleCache(FG, BG, reverse_screen=True)
    ((text, style),) = segments(render_row(screen.buffer[0], 12, styles))
    assert (style.color, style.bgcolor) == (BG, FG)


def test_wide_characters_keep_the_row_width():
    screen = screen_of("a中b".encode())
    strip = render_row(screen.buffer[0], 12, StyleCache(FG, BG))
    assert strip.text.rstrip() == "a中b"
    assert strip.cell_length == 12


def test_the_cursor_is_a_reversed_cell():
    screen = screen_of(b"abc")
    strip = render_row(screen.buffer[0], 12, StyleCache(FG, BG), cursor_x=1)
    assert segments(strip)[:3] == [
        ("a", Style(color=FG, bgcolor=BG)),
        ("b", Style(color=BG, bgcolor=FG)),
        ("c         ", Style(color=FG, bgcolor=BG)),
    ]


def test_the_cursor_covers_both_halves_of_a_wide_character():
    screen = screen_of("中x".encode())
    strip = render_row(screen.buffer[0], 12, StyleCache(FG, BG), cursor_x=1)
    assert segments(strip)[0] == ("中", Style(color=BG, bgcolor=FG))
    assert strip.cell_length == 12


def test_short_and_long_history_rows_are_fitted():
    screen = TerminalScreen(20, 2)
    TerminalStream(screen).feed_bytes(b"first\r\nsecond\r\nthird\r\n")
    row = screen.history[0]
    assert render_row(row, 30, StyleCache(FG, BG)).cell_length == 30
    assert render_row(row, 3, StyleCache(FG, BG)).text == "fir"
