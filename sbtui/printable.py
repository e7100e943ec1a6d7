"""Strings from tenants, registries and engines, made safe to show on a terminal.

A terminal acts on some characters instead of showing them: C0 controls (ESC starts the
sequences that set the window title or write the clipboard through OSC 52; CR and LF fake
lines), DEL, C1 controls (0x9b is a one-character CSI on some terminals), the bidi controls that
reorder what follows, and the Unicode line and paragraph separators. Whatever the CLI and the
dashboard show people goes through `printable`; what programs read (JSON) stays exact.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def printable(text: str) -> str:
    """`text` with each of those characters written as its escape (\\x1b, \\n, \\u202e)."""
    return _UNSAFE.sub(_escape, text)
