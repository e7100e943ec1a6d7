"""Text that a terminal would act on, for the tests that show it can't reach one through sbtui."""

from __future__ import annotations

# Sets the window title, writes "owned\n" to the clipboard (OSC 52), clears the screen, goes
# back to the start of the line, fakes a new one, a DEL, a one-byte CSI (C1), then reverses
# what follows. No '=', so it can stand on either side of KEY=VALUE.
HOSTILE = "\x1b]0;owned\x07\x1b]52;c;b3duZWQK\x07\x1b[2J\rFAKE\nline\x7f\x9b31m\u202etxt.exe\u2066"
# How it must look on the terminal: each control character as its escape, the rest as it was.
SHOWN = "\\x1b]0;owned\\x07\\x1b]52;c;b3duZWQK\\x07\\x1b[2J\\rFAKE\\nline\\x7f\\x9b31m\\u202etxt.exe\\u2066"
# What a terminal acts on: C0 but the newline that ends our own lines, DEL, C1, bidi controls.
ACTED_ON = (
    {chr(c) for c in range(0x20) if c != 0x0A}
    | {"\x7f"}
    | {chr(c) for c in range(0x80, 0xA0)}
    | set("\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)


def assert_inert(text: str, lines: int) -> None:
    """Nothing a terminal would act on, and exactly the lines we printed (none faked)."""
    found = sorted({repr(c) for c in text if c in ACTED_ON})
    assert not found, f"raw control characters reach the terminal: {found} in {text!r}"
    assert text.count("\n") == lines, text
