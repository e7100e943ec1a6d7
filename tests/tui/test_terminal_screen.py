"""TerminalScreen + TerminalStream fed recorded byte streams; the assertions read the cells."""

from __future__ import annotations

import logging

import pyte
import pytest
from pyte.screens import Char

from sbtui.tui.terminal import TerminalScreen, TerminalStream
from sbtui.tui.terminal.cells import DEFAULT_ATTRS
from sbtui.tui.terminal.screen import PRIMARY_DA, SECONDARY_DA, row_text


def run(data: bytes, columns: int = 20, lines: int = 6, **kwargs) -> tuple[TerminalScreen, TerminalStream]:
    screen = TerminalScreen(columns, lines, **kwargs)
    stream = TerminalStream(screen)
    stream.feed_bytes(data)
    assert stream.errors == 0, stream.last_error
    return screen, stream


def text(screen: TerminalScreen) -> list[str]:
    return [line.rstrip() for line in screen.display]


def history(screen: TerminalScreen) -> list[str]:
    return [row_text(row).rstrip() for row in screen.history]


def cursor(screen: TerminalScreen) -> tuple[int, int]:
    return screen.cursor.x, screen.cursor.y


def cells(row, columns: int = 20) -> list[tuple[str, tuple]]:
    """A history row's cells as shown: a short row is padded with default blanks."""
    shown = [(row.text[x], row.attrs[x]) for x in range(min(columns, len(row.text)))]
    return shown + [(" ", DEFAULT_ATTRS)] * (columns - len(shown))


# -- cursor movement ---------------------------------------------------------------------------


def test_cup_places_text_and_cursor():
    screen, _ = run(b"\x1b[3;5Hx\x1b[1;1Hy\x1b[6;20Hz")
    assert text(screen) == ["y", "", "    x", "", "", "                   z"]
    assert cursor(screen) == (20, 5)  # after the last column: wrap pending, as pyte does


def test_relative_moves_and_their_limits():
    screen, _ = run(b"\x1b[4;10H\x1b[2A\x1b[3D\x1b[C\x1b[B")
    assert cursor(screen) == (7, 2)
    screen, _ = run(b"\x1b[4;10H\x1b[99A\x1b[99D")
    assert cursor(screen) == (0, 0)
    screen, _ = run(b"\x1b[99B\x1b[99C")
    assert cursor(screen) == (19, 5)


def test_cursor_moves_outside_the_scroll_region_stop_at_the_screen_edge():
    # Region rows 2-4; a cursor at row 6 moving up stops at the region's bottom in xterm
    # only if it started inside. pyte jumped it into the region from below.
    screen, _ = run(b"\x1b[2;4r\x1b[6;1H\x1b[A")
    assert cursor(screen) == (0, 4)
    screen, _ = run(b"\x1b[2;4r\x1b[6;1H\n")
    assert cursor(screen) == (0, 5)  # LF on the last row below the region: no scroll, no jump


def test_carriage_return_backspace_and_tab():
    screen, _ = run(b"abcdef\rXY\x08Z\tT")
    assert text(screen)[0] == "XZcdef  T"


def test_save_and_restore_cursor_restores_the_same_save_twice():
    screen, _ = run(b"\x1b[2;3H\x1b[31m\x1b7\x1b[5;5H\x1b[0m\x1b8A\x1b[6;6H\x1b8B")
    assert cursor(screen) == (3, 1)
    assert screen.cell(2, 1) == Char("B", fg="red")  # attributes came back with the cursor


def test_scosc_and_scorc_save_and_restore_the_cursor():
    # xterm (ctlseqs): `CSI s` is SCOSC, save cursor, while DECLRMM is off; `CSI u` is SCORC.
    # They share DECSC's save slot. pyte's handlers took no parameters: both raised TypeError,
    # swallowed, and the cursor stayed where it was.
    screen, _ = run(b"\x1b[2;3H\x1b[31m\x1b[s\x1b[5;5H\x1b[0m\x1b[uA")
    assert cursor(screen) == (3, 1)
    assert screen.cell(2, 1) == Char("A", fg="red")  # attributes came back with the cursor
    screen, _ = run(b"\x1b[2;3H\x1b[s\x1b[5;5H\x1b8")
    assert cursor(screen) == (2, 1)  # one slot: DECRC restores what SCOSC saved
    screen, _ = run(b"\x1b[2;3H\x1b7\x1b[5;5H\x1b[u")
    assert cursor(screen) == (2, 1)


def test_hpa_moves_to_an_absolute_column():
    # xterm (ctlseqs): CSI Ps ` (a backquote) is HPA, character position absolute [column]
    # (default [row,1]): the same move as CHA. pyte filed it under an apostrophe: ignored.
    screen, _ = run(b"abc\x1b[10`x\x1b[`y")
    assert text(screen)[0] == "ybc      x"
    screen, _ = run(b"\x1b[3;5H\x1b[99`z")
    assert cursor(screen) == (20, 2)  # clamped to the last column, then z wrote there
    assert text(screen)[2] == " " * 19 + "z"


def test_cup_in_origin_mode_stops_at_the_bottom_margin():
    # xterm (ctlseqs, DECOM): with origin mode set, CUP/HVP/VPA rows count from the top margin
    # and the cursor can't leave the scroll region: a row past the bottom margin stops there.
    # pyte ignored such a CUP entirely (the column too).
    region = b"\x1b[2;4r\x1b[?6h"  # rows 2-4, origin mode: the cursor homes to row 2
    screen, _ = run(region + b"\x1b[9;3H")
    assert cursor(screen) == (2, 3)
    screen, _ = run(region + b"\x1b[9;3f")  # HVP is CUP
    assert cursor(screen) == (2, 3)
    screen, _ = run(region + b"\x1b[5;7H\x1b[9d")  # VPA keeps the column
    assert cursor(screen) == (6, 3)
    screen, _ = run(region + b"\x1b[2;3H")  # inside: relative to the top margin
    assert cursor(screen) == (2, 2)
    screen, _ = run(region + b"\x1b[?6l\x1b[9;3H")  # origin mode off: the screen's rows
    assert cursor(screen) == (2, 5)


def test_next_line_returns_the_carriage():
    screen, _ = run(b"abc\x1bEd")
    assert text(screen)[:2] == ["abc", "d"]
    assert cursor(screen) == (1, 1)


def test_nel_at_the_bottom_scrolls():
    screen, _ = run(b"\x1b[6;1Hlast\x1bEnew", lines=6)
    assert text(screen)[4:] == ["last", "new"]


# -- erasing -----------------------------------------------------------------------------

FILLED = b"".join(b"\x1b[%d;1H" % (row + 1) + bytes([ord("a") + row]) * 10 for row in range(4))


def test_erase_in_line():
    screen, _ = run(FILLED + b"\x1b[2;4H\x1b[K\x1b[3;4H\x1b[1K\x1b[4;4H\x1b[2K", lines=4)
    assert text(screen) == ["aaaaaaaaaa", "bbb", "    cccccc", ""]


def test_erase_in_display():
    screen, _ = run(FILLED + b"\x1b[2;4H\x1b[J", lines=4)
    assert text(screen) == ["aaaaaaaaaa", "bbb", "", ""]
    screen, _ = run(FILLED + b"\x1b[3;4H\x1b[1J", lines=4)
    assert text(screen) == ["", "", "    cccccc", "dddddddddd"]
    screen, _ = run(FILLED + b"\x1b[2J", lines=4)
    assert text(screen) == ["", "", "", ""]


def test_erase_characters_and_delete_and_insert_characters():
    screen, _ = run(b"abcdefgh\x1b[1;3H\x1b[2X")
    assert text(screen)[0] == "ab  efgh"
    screen, _ = run(b"abcdefgh\x1b[1;3H\x1b[2P")
    assert text(screen)[0] == "abefgh"
    screen, _ = run(b"abcdefgh\x1b[1;3H\x1b[2@")
    assert text(screen)[0] == "ab  cdefgh"


def test_erase_fills_with_the_current_background():
    screen, _ = run(b"abc\x1b[44m\x1b[1;2H\x1b[K")
    assert screen.cell(0, 0) == Char("a")
    assert screen.cell(1, 0) == Char(" ", bg="blue")
    assert screen.cell(19, 0) == Char(" ", bg="blue")


# -- scroll regions ------------------------------------------------------------------------


def numbered(lines: int) -> bytes:
    return b"\r\n".join(b"line%d" % n for n in range(1, lines + 1))


def test_index_inside_a_region_scrolls_only_the_region():
    screen, _ = run(numbered(6) + b"\x1b[2;4r" + b"\x1b[4;1H\nnew")
    assert text(screen) == ["line1", "line3", "line4", "new", "line5", "line6"]
    assert not screen.history  # a partial region keeps nothing


def test_reverse_index_at_the_top_of_a_region_scrolls_it_down():
    screen, _ = run(numbered(6) + b"\x1b[2;4r\x1b[2;1H\x1bMtop")
    assert text(screen) == ["line1", "top", "line2", "line3", "line5", "line6"]


def test_decstbm_homes_the_cursor():
    screen, _ = run(b"\x1b[5;5H\x1b[2;4r")
    assert cursor(screen) == (0, 0)


def test_insert_and_delete_lines_stay_inside_the_region():
    screen, _ = run(numbered(6) + b"\x1b[2;5r\x1b[3;3H\x1b[2L")
    assert text(screen) == ["line1", "line2", "", "", "line3", "line6"]
    assert cursor(screen) == (0, 2)
    screen, _ = run(numbered(6) + b"\x1b[2;5r\x1b[3;1H\x1b[2M")
    assert text(screen) == ["line1", "line2", "line5", "", "", "line6"]


def test_scroll_up_and_down():
    screen, _ = run(numbered(6) + b"\x1b[2;5r\x1b[S")
    assert text(screen) == ["line1", "line3", "line4", "line5", "", "line6"]
    screen, _ = run(numbered(6) + b"\x1b[2;5r\x1b[2T")
    assert text(screen) == ["line1", "", "", "line2", "line3", "line6"]


# -- colours and attributes ------------------------------------------------------------------


@pytest.mark.parametrize(
    "sgr, expected",
    [
        (b"31", Char("x", fg="red")),
        (b"42", Char("x", bg="green")),
        (b"33;44", Char("x", fg="brown", bg="blue")),
        (b"91;102", Char("x", fg="brightred", bg="brightgreen")),
        (b"38;5;196", Char("x", fg="ff0000")),
        (b"48;5;21", Char("x", bg="0000ff")),
        (b"38;5;8", Char("x", fg="7f7f7f")),  # pyte's palette
        (b"38;2;1;2;3", Char("x", fg="010203")),
        (b"48;2;255;128;0", Char("x", bg="ff8000")),
        (b"38:2::1:2:3", Char("x", fg="010203")),  # colon form, with the colour-space slot
        (b"38:5:196", Char("x", fg="ff0000")),
        (
            b"1;3;4;5;7;9",
            Char("x", bold=True, italics=True, underscore=True, blink=True, reverse=True, strikethrough=True),
        ),
        (b"1;3;4;7;22;23;24;27", Char("x")),
        (b"31;1;0", Char("x")),
        (b"58;5;1;4", Char("x", underscore=True)),  # underline colour consumed, not misread
    ],
)
def test_sgr(sgr, expected):
    screen, _ = run(b"\x1b[" + sgr + b"mx")
    assert screen.cell(0, 0) == expected


@pytest.mark.parametrize(
    "sgr",
    [
        b"31",
        b"42",
        b"91;102",
        b"38;5;196",
        b"48;5;100",
        b"38;2;1;2;3",
        b"1;4;7",
        b"1;3;4;7;22;23;24;27",
        b"38;5;33;1;48;2;9;8;7",
    ],
)
def test_sgr_matches_stock_pyte(sgr):
    data = b"a\x1b[" + sgr + b"mbc\x1b[0md"
    screen, _ = run(data)
    stock = pyte.Screen(20, 6)
    pyte.ByteStream(stock).feed(data)
    assert [screen.cell(x, 0) for x in range(5)] == [stock.buffer[0][x] for x in range(5)]


def test_private_sgr_is_ignored_and_does_not_raise():
    screen, stream = run(b"\x1b[?4mx\x1b[>4;2my")  # vim: query / set modifyOtherKeys
    assert screen.cell(0, 0) == Char("x")
    assert screen.cell(1, 0) == Char("y")  # pyte read `> 4;2 m` as SGR 4: underline
    screen.select_graphic_rendition(4, private=True)
    assert screen.cursor.attrs == Char(" ")


# -- wide characters ----------------------------------------------------------------------


def test_wide_characters_take_two_cells():
    screen, _ = run("中a文".encode())
    assert [screen.buffer[0][x][0] for x in range(5)] == ["中", "", "a", "文", ""]
    assert cursor(screen) == (5, 0)
    assert screen.display[0].rstrip() == "中a文"


def test_emoji_is_wide():
    screen, _ = run("👍x".encode())
    assert [screen.buffer[0][x][0] for x in range(3)] == ["👍", "", "x"]


def test_a_wide_character_that_does_not_fit_wraps():
    screen, _ = run(b"\x1b[1;20H" + "中".encode(), columns=20)
    assert screen.buffer[0][19][0] == " "
    assert [screen.buffer[1][x][0] for x in range(2)] == ["中", ""]


def test_overwriting_half_a_wide_character_blanks_the_other_half():
    screen, _ = run("中文\x1b[1;2Hx".encode())
    assert [screen.buffer[0][x][0] for x in range(4)] == [" ", "x", "文", ""]
    screen, _ = run("中文\x1b[1;3Hx".encode())
    assert [screen.buffer[0][x][0] for x in range(4)] == ["中", "", "x", " "]


def test_combining_characters_join_the_previous_cell():
    screen, _ = run("e\u0301x".encode())
    assert screen.buffer[0][0][0] == "é"
    assert screen.buffer[0][1][0] == "x"


def test_multibyte_characters_split_between_chunks():
    data = "a中b👍c\x1b[31md".encode()
    screen = TerminalScreen(20, 3)
    stream = TerminalStream(screen)
    for i in range(len(data)):
        stream.feed_bytes(data[i : i + 1])
    assert screen.display[0].rstrip() == "a中b👍cd"
    assert screen.cell(7, 0) == Char("d", fg="red")


# -- the alternate screen ---------------------------------------------------------------------


def test_1049_saves_and_restores_the_main_screen_and_cursor():
    screen, stream = run(b"main\r\n$ vim\x1b[?1049h")
    assert screen.in_alternate_screen
    assert text(screen) == [""] * 6
    stream.feed_bytes(b"\x1b[1;1H~\r\n~\x1b[5;5Halt")
    stream.feed_bytes(b"\x1b[?1049l")
    assert not screen.in_alternate_screen
    assert text(screen)[:2] == ["main", "$ vim"]
    assert cursor(screen) == (5, 1)
    assert 1049 << 5 not in screen.mode


def test_47_switches_without_clearing_and_1047_clears_on_leaving():
    screen, stream = run(b"main\x1b[?47halt\x1b[?47l")
    assert text(screen)[0] == "main"
    stream.feed_bytes(b"\x1b[?47h")
    assert text(screen)[0] == "    alt"  # ?47 kept the alternate screen's content
    stream.feed_bytes(b"\x1b[?1047l\x1b[?1047h")
    assert text(screen)[0] == ""
    stream.feed_bytes(b"\x1b[?1047l")
    assert text(screen)[0] == "main"


def test_1048_saves_and_restores_the_cursor():
    screen, _ = run(b"\x1b[3;4H\x1b[?1048h\x1b[1;1H\x1b[?1048l")
    assert cursor(screen) == (3, 2)


def test_the_alternate_screen_keeps_no_history():
    screen, _ = run(b"\x1b[?1049h" + numbered(20) + b"\x1b[?1049l")
    assert not screen.history


# -- answers to the program -------------------------------------------------------------------


def test_cursor_position_report():
    screen, _ = run(b"\x1b[3;7H\x1b[6n")
    assert screen.answers == ["\x1b[3;7R"]
    screen, _ = run(b"\x1b[3;7H\x1b[?6n")
    assert screen.answers == ["\x1b[?3;7R"]
    screen, _ = run(b"x" * 20 + b"\x1b[6n")  # wrap pending: still the last column
    assert screen.answers == ["\x1b[1;20R"]


def test_device_attributes_and_status():
    screen, _ = run(b"\x1b[c\x1b[0c\x1b[>c\x1b[>0c\x1b[5n")
    assert screen.answers == [PRIMARY_DA, PRIMARY_DA, SECONDARY_DA, SECONDARY_DA, "\x1b[0n"]


def test_answers_go_to_the_callback():
    answers: list[str] = []
    screen = TerminalScreen(20, 5, on_answer=answers.append)
    TerminalStream(screen).feed_bytes(b"\x1b[6n")
    assert answers == ["\x1b[1;1R"] and not screen.answers


# -- scrollback --------------------------------------------------------------------------------


def test_scrollback_keeps_the_lines_scrolled_off_in_order():
    screen, _ = run(numbered(30), lines=6)
    assert history(screen) == [f"line{n}" for n in range(1, 25)]
    assert text(screen) == [f"line{n}" for n in range(25, 31)]
    assert screen.history_added == 24


def test_scrollback_keeps_colours():
    screen, _ = run(b"\x1b[32mgreen\x1b[0m\r\n" + numbered(6), lines=6)
    first = screen.history[0]
    assert Char(first.text[0], *first.attrs[0]) == Char("g", fg="green")


def test_scrollback_is_bounded():
    screen, _ = run(numbered(100), lines=6, scrollback=10)
    assert len(screen.history) == 10
    assert history(screen)[-1] == "line94"


@pytest.mark.parametrize("scrollback", [0, 7, 1000])
@pytest.mark.parametrize("shape", ["few", "many", "wrapping", "background"])
def test_lines_passed_in_bulk_are_the_lines_drawn_one_by_one(shape, scrollback):
    # One chunk takes the bulk path (whole lines built in place); fed a byte at a time, every
    # line is drawn and scrolled on its own. Screen, history and counts must not differ.
    data = {
        "few": b"\r\n".join(b"y" * n for n in range(8)) + b"\r\ny\r\ny\r\n",
        "many": b"".join(b"%d\r\n" % n for n in range(300)),
        "wrapping": b"".join(b"%d%s\r\n" % (n, b"-" * (n % 30)) for n in range(60)),
        "background": b"\x1b[44mblue\r\n" + b"".join(b"%d\r\n" % n for n in range(40)),
    }[shape]
    bulk, _ = run(data, scrollback=scrollback)
    single = TerminalScreen(20, 6, scrollback=scrollback)
    stream = TerminalStream(single)
    for i in range(len(data)):
        stream.feed_bytes(data[i : i + 1])
    assert bulk.buffer == single.buffer
    assert [cells(row) for row in bulk.history] == [cells(row) for row in single.history]
    assert bulk.history_added == single.history_added
    assert cursor(bulk) == cursor(single)


def test_erase_saved_lines_clears_the_history():
    screen, _ = run(numbered(30) + b"\x1b[H\x1b[2J\x1b[3J", lines=6)
    assert not screen.history
    assert text(screen) == [""] * 6


def test_resize_keeps_the_cursor_line_and_moves_the_rows_above_to_history():
    screen, _ = run(numbered(6), lines=6)
    screen.resize(3, 10)
    assert text(screen) == ["line4", "line5", "line6"]
    assert history(screen) == ["line1", "line2", "line3"]
    assert cursor(screen) == (5, 2)
    screen.resize(5, 30)
    assert text(screen) == ["line4", "line5", "line6", "", ""]
    assert len(screen.buffer[0]) == 30


# -- robustness --------------------------------------------------------------------------------


def test_sequences_split_at_every_byte_give_the_same_screen():
    data = (
        b"\x1b[2J\x1b[1;1H\x1b[1;38;5;208mhot\x1b[0m \x1b[48;2;1;2;3mbg\x1b[m\r\n"
        + "中文 ok\x1b]0;title\x07\x1b[3;5Hat\x1b[?25l\x1b[2;3r\x1b[3;1H\nx".encode()
    )
    whole, _ = run(data)
    split = TerminalScreen(20, 6)
    stream = TerminalStream(split)
    for i in range(len(data)):
        stream.feed_bytes(data[i : i + 1])
    assert split.buffer == whole.buffer
    assert cursor(split) == cursor(whole)
    assert split.title == whole.title == "title"


def test_unknown_and_malformed_sequences_do_not_raise():
    data = (
        b"\x1b[?1000h\x1b[?1006h\x1bP+q544e\x1b\\\x1b_apc\x1b\\\x1b[38;5m\x1b[38;2;1m"
        b"\x1b[99999999999999999999H\x1b[ q\x1b[>1u\x1b[=c\x1b[?u\x1b[!p\x1b#8\x1b(0qx\x1b(B"
        b"\x1b[1\r;2Hz\x1b\x1bx\x9b\x00\x7f\x1b[?r\x1b[;r"
    )
    screen, stream = run(data)
    assert stream.errors == 0


def test_line_drawing_charset():
    screen, _ = run(b"\x1b(0lqk\x1b(Bx")
    assert text(screen)[0] == "┌─┐x"


def test_g1_starts_as_ascii():
    # xterm: G0..G3 designate US-ASCII at reset; SO invokes G1, so SO with no `ESC ) 0` before
    # it prints plain text. pyte started G1 as DEC line drawing (the Linux console's default).
    screen, _ = run(b"\x0eqx\x0fq")
    assert text(screen)[0] == "qxq"
    screen, _ = run(b"\x1b)0\x0eqx\x0fq")  # designated: SO gives line drawing
    assert text(screen)[0] == "─│q"
    screen, _ = run(b"\x1b)0\x1bc\x0eq")  # RIS: ASCII again
    assert text(screen)[0] == "q"
    screen, _ = run(b"\x1b)0\x1b[!p\x0eq")  # DECSTR: ASCII again
    assert text(screen)[0] == "q"


class FailingScreen(TerminalScreen):
    """A screen whose CHA handler fails, to see what the stream does with a failing handler."""

    def cursor_to_column(self, column=None):
        raise ValueError("broken handler")


def test_a_failing_handler_is_counted_and_logged_once(caplog):
    stream = TerminalStream(FailingScreen(20, 6))
    with caplog.at_level(logging.WARNING, logger="sbtui.tui.terminal.stream"):
        stream.feed_bytes(b"a\x1b[5Gb\x1b[7Gc\x1b[5Gd")
    assert stream.errors == 3
    assert isinstance(stream.last_error, ValueError)
    assert stream.listener.display[0].rstrip() == "abcd"  # the rest of the output still drawn
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 1, messages  # the same failure three times: logged once
    assert "CSI 5G" in messages[0] and "broken handler" in messages[0]


def test_repeat_last_character():
    screen, _ = run(b"ab\x1b[3b")
    assert text(screen)[0] == "abbbb"


@pytest.mark.parametrize("name", ["plain", "colour", "moves"])
def test_same_cells_as_stock_pyte_where_pyte_is_right(name):
    import random

    rng = random.Random(name)
    if name == "plain":
        data = "".join(f"{i} some words\r\n" for i in range(200)).encode()
    elif name == "colour":
        data = "".join(
            f"\x1b[{rng.choice([31, 32, 1, 4, 0, 44])}m{rng.random():.4f} " for _ in range(600)
        ).encode()
    else:
        data = "".join(
            f"\x1b[{rng.randrange(1, 7)};{rng.randrange(1, 21)}H{rng.random():.3f}"
            f"\x1b[{rng.choice(['K', '1K', 'A', 'B', '2C', 'D', 'X', 'P'])}"
            for _ in range(400)
        ).encode()
    ours, _ = run(data)
    stock = pyte.Screen(20, 6)
    pyte.ByteStream(stock).feed(data)
    assert ours.display == stock.display
    for y in range(6):
        assert [ours.cell(x, y) for x in range(20)] == [stock.buffer[y][x] for x in range(20)]
    assert cursor(ours) == (stock.cursor.x, stock.cursor.y)


# -- recorded sessions of real programs (tests/tui/record_terminal_sessions.py) -------------

DATA = __import__("pathlib").Path(__file__).parent / "data"


def test_recorded_vim_session():
    """vim 9 editing a file: alt screen, DECCKM, bracketed paste, queries, `CSI ? 4 m`."""
    data = (DATA / "vim.bin").read_bytes()
    editing, _ = run(data[: data.index(b":wq")], columns=80, lines=24)
    assert editing.in_alternate_screen
    assert editing.display[0].rstrip() == "hello 世界"
    assert [editing.buffer[0][x][0] for x in range(6, 10)] == ["世", "", "界", ""]
    assert text(editing)[1:3] == ["second line", "typed ✓"]
    assert all(text(editing)[row] == "~" for row in range(3, 23))
    assert editing.cell(0, 3) == Char("~", fg="brightblue")
    assert {1 << 5, 2004 << 5, 1004 << 5} <= editing.mode  # cursor keys, paste, focus
    # vim measured "▽" with a cursor-position report and asked for the secondary DA.
    assert editing.answers == ["\x1b[2;2R", "\x1b[3;1R", SECONDARY_DA]

    done, _ = run(data, columns=80, lines=24)
    assert not done.in_alternate_screen
    assert text(done)[:3] == ["before vim", "after vim", ""]
    assert cursor(done) == (0, 2)
    assert done.cell(0, 1) == Char("a")  # pyte underlined it: it read `CSI > 4 ; 2 m` as SGR 4
    assert not {1 << 5, 2004 << 5, 1004 << 5} & done.mode

    with pytest.raises(TypeError):  # the fault this screen fixes: `CSI ? 4 m`
        pyte.ByteStream(pyte.Screen(80, 24)).feed(data)


def test_recorded_ls_colours():
    screen, _ = run((DATA / "ls.bin").read_bytes(), columns=80, lines=24)
    assert text(screen)[0] == "alpha.py  beta.txt  notes.txt  src/"
    assert screen.cell(31, 0) == Char("s", fg="blue", bold=True)
    assert screen.cell(34, 0) == Char("/")


def test_recorded_binary_output_leaves_later_text_readable():
    """`head` of /bin/true cut just after an SO byte, then `after`: xterm keeps G1 as ASCII."""
    data = (DATA / "binary.bin").read_bytes()
    assert data.endswith(b"\x0e\r\nafter\r\n") and b"\x1b)" not in data  # SO, G1 never set
    screen, _ = run(data, columns=80, lines=24)
    assert screen.charset == 1  # SO is still in effect...
    assert text(screen)[20] == "after"  # ...and prints ASCII, not "▒°├␊⎼"


def vttest_screen(name: str) -> list[str]:
    """The screen of a recorded vttest test as it waits at its "Push <RETURN>"."""
    data = (DATA / f"{name}.bin").read_bytes()
    end = data.index(b"Push <RETURN>") + len(b"Push <RETURN>")
    screen = TerminalScreen(80, 24)
    # Not `run`: swallowed errors are test_recorded_streams_make_no_handler_fail's to count.
    TerminalStream(screen).feed_bytes(data[:end])
    return text(screen)


def test_recorded_vttest_hpa_draws_a_box():
    # vttest 11.5.1 draws a box's sides by HPA to the left and right columns on each row;
    # ignored, the sides came out as a diagonal.
    rows = vttest_screen("vttest_hpa")
    assert "There should be a box-outline made of *'s in the middle of the screen." in rows
    top, bottom, left, right = 5, 17, 19, 58
    assert rows[top] == rows[bottom] == " " * left + "*" * (right - left + 1)
    for y in range(top + 1, bottom):
        assert rows[y] == " " * left + "*" + " " * (right - left - 1) + "*", y


def test_recorded_vttest_cup_below_the_margins_in_origin_mode():
    # vttest 11.4.2.14 with origin mode and margins on rows 1-12: CUP to row 24 stops on row 12
    # (xterm), then each CPL goes up a line, stopping at the top margin. With the CUP ignored,
    # every number landed on the first row.
    rows = vttest_screen("vttest_origin")
    assert "Test Previous-Line (CPL)" in rows
    assert rows[0] == "1.."  # 13. to 1. written over each other at the top margin
    assert rows[1:11] == [f"{n}." for n in range(14, 24)]
    assert rows[11] == ""


@pytest.mark.parametrize("path", sorted(DATA.glob("*.bin")), ids=lambda path: path.stem)
def test_recorded_streams_make_no_handler_fail(path):
    """No sequence a real program sent makes a handler raise (the stream would hide it)."""
    screen = TerminalScreen(80, 24)
    stream = TerminalStream(screen)
    stream.feed_bytes(path.read_bytes())
    assert stream.errors == 0, f"{stream.errors} swallowed, the last: {stream.last_error!r}"
