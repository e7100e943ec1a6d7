"""Key names to the bytes an xterm sends; pastes with and without brackets."""

from __future__ import annotations

import pytest

from sbtui.tui.terminal.keys import encode_key, encode_paste


@pytest.mark.parametrize(
    "key, character, normal, application",
    [
        ("up", None, b"\x1b[A", b"\x1bOA"),
        ("down", None, b"\x1b[B", b"\x1bOB"),
        ("right", None, b"\x1b[C", b"\x1bOC"),
        ("left", None, b"\x1b[D", b"\x1bOD"),
        ("home", None, b"\x1b[H", b"\x1bOH"),
        ("end", None, b"\x1b[F", b"\x1bOF"),
        ("ctrl+up", None, b"\x1b[1;5A", b"\x1b[1;5A"),
        ("shift+left", None, b"\x1b[1;2D", b"\x1b[1;2D"),
        ("ctrl+shift+right", None, b"\x1b[1;6C", b"\x1b[1;6C"),
    ],
)
def test_cursor_keys_follow_the_cursor_key_mode(key, character, normal, application):
    assert encode_key(key, character) == normal
    assert encode_key(key, character, application_cursor=True) == application


@pytest.mark.parametrize(
    "key, expected",
    [
        ("f1", b"\x1bOP"),
        ("f4", b"\x1bOS"),
        ("f5", b"\x1b[15~"),
        ("f6", b"\x1b[17~"),
        ("f10", b"\x1b[21~"),
        ("f11", b"\x1b[23~"),
        ("f12", b"\x1b[24~"),
        ("shift+f5", b"\x1b[15;2~"),
        ("ctrl+f1", b"\x1b[1;5P"),
        ("f13", b"\x1b[1;2P"),
        ("insert", b"\x1b[2~"),
        ("delete", b"\x1b[3~"),
        ("pageup", b"\x1b[5~"),
        ("pagedown", b"\x1b[6~"),
        ("ctrl+delete", b"\x1b[3;5~"),
    ],
)
def test_function_and_editing_keys(key, expected):
    assert encode_key(key, None) == expected


@pytest.mark.parametrize(
    "key, character, expected",
    [
        ("a", "a", b"a"),
        ("A", "A", b"A"),
        ("space", " ", b" "),
        ("euro_sign", "€", "€".encode()),
        ("enter", "\r", b"\r"),
        ("tab", "\t", b"\t"),
        ("shift+tab", None, b"\x1b[Z"),
        ("escape", "\x1b", b"\x1b"),
        ("backspace", "\x7f", b"\x7f"),
        ("ctrl+h", None, b"\x08"),
        ("ctrl+a", None, b"\x01"),
        ("ctrl+c", None, b"\x03"),
        ("ctrl+d", None, b"\x04"),
        ("ctrl+z", None, b"\x1a"),
        ("ctrl+q", None, b"\x11"),
        ("ctrl+p", None, b"\x10"),
        ("ctrl+@", None, b"\x00"),
        ("ctrl+backslash", None, b"\x1c"),
        ("ctrl+right_square_bracket", None, b"\x1d"),
        ("ctrl+underscore", None, b"\x1f"),
        ("alt+x", "x", b"\x1bx"),
        ("alt+x", None, b"\x1bx"),
        ("alt+shift+x", "X", b"\x1bX"),
        ("alt+enter", None, b"\x1b\r"),
        ("alt+ctrl+c", None, b"\x1b\x03"),
        ("exclamation_mark", "!", b"!"),
        ("alt+full_stop", None, b"\x1b."),
    ],
)
def test_characters_controls_and_alt(key, character, expected):
    assert encode_key(key, character) == expected


def test_keys_without_bytes():
    assert encode_key("super+a", None) is None
    assert encode_key("ctrl+f", None) == b"\x06"
    assert encode_key("ctrl+euro_sign", None) is None


def test_paste():
    assert encode_paste("ls\nwho\r\n", bracketed=False) == b"ls\rwho\r"
    assert encode_paste("ls\n", bracketed=True) == b"\x1b[200~ls\r\x1b[201~"
    # An end marker inside the paste can't end it early and run the rest as keys.
    assert encode_paste("a\x1b[201~rm -rf /\n", bracketed=True) == b"\x1b[200~arm -rf /\r\x1b[201~"
