"""What an xterm sends for a key or a paste, from Textual's key names.

Cursor keys follow DECCKM (`ESC O A` in application mode, `ESC [ A` otherwise); modified
cursor, editing and function keys use xterm's `CSI 1 ; m X` / `CSI n ; m ~` forms, where m is
1 + shift 1 + alt 2 + ctrl 4 + meta 8; other keys with alt (or meta) get an ESC prefix; ctrl
with a letter or one of `@[\\]^_` gives the control code.
"""

from __future__ import annotations

from textual.keys import key_to_character

CSI = "\x1b["
SS3 = "\x1bO"

_CURSOR = {"up": "A", "down": "B", "right": "C", "left": "D", "home": "H", "end": "F"}
_SS3_FUNCTION = {"f1": "P", "f2": "Q", "f3": "R", "f4": "S"}
_TILDE = {
    "insert": 2,
    "delete": 3,
    "pageup": 5,
    "pagedown": 6,
    "f5": 15,
    "f6": 17,
    "f7": 18,
    "f8": 19,
    "f9": 20,
    "f10": 21,
    "f11": 23,
    "f12": 24,
}
_MODIFIER_BITS = {"shift": 1, "alt": 2, "ctrl": 4, "meta": 8}
_PLAIN = {"enter": "\r", "tab": "\t", "escape": "\x1b", "backspace": "\x7f", "space": " "}
# ctrl with a key that isn't a letter, as xterm (and the VT220 keyboard) maps them.
_CONTROL = {
    "at": "\x00",
    "space": "\x00",
    "2": "\x00",
    "left_square_bracket": "\x1b",
    "3": "\x1b",
    "backslash": "\x1c",
    "4": "\x1c",
    "right_square_bracket": "\x1d",
    "5": "\x1d",
    "circumflex_accent": "\x1e",
    "6": "\x1e",
    "underscore": "\x1f",
    "slash": "\x1f",
    "minus": "\x1f",
    "7": "\x1f",
    "question_mark": "\x7f",
    "8": "\x7f",
    "backspace": "\x08",
    "enter": "\r",
    "tab": "\t",
    "escape": "\x1b",
}
PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"


def encode_key(key: str, character: str | None, *, application_cursor: bool = False) -> bytes | None:
    """The bytes for a Textual key event, or None for a key a terminal has no bytes for."""
    if key.endswith("+@"):
        key = key[:-1] + "at"  # Textual's name for ctrl+space (NUL)
    *modifiers, base = key.split("+")
    mods = set(modifiers)
    if not mods <= _MODIFIER_BITS.keys():
        return None  # super, hyper: nothing an xterm would send
    if base.startswith("f") and base[1:].isdigit() and 13 <= int(base[1:]) <= 24:
        base = f"f{int(base[1:]) - 12}"  # xterm's F13-F24 are shifted F1-F12
        mods.add("shift")
    param = 1 + sum(_MODIFIER_BITS[mod] for mod in mods)

    if base in _CURSOR:
        final = _CURSOR[base]
        if param > 1:
            return f"{CSI}1;{param}{final}".encode()
        return ((SS3 if application_cursor else CSI) + final).encode()
    if base in _SS3_FUNCTION:
        final = _SS3_FUNCTION[base]
        return (f"{CSI}1;{param}{final}" if param > 1 else SS3 + final).encode()
    if base in _TILDE:
        number = _TILDE[base]
        return (f"{CSI}{number};{param}~" if param > 1 else f"{CSI}{number}~").encode()

    prefix = "\x1b" if mods & {"alt", "meta"} else ""
    if base == "tab" and "shift" in mods:
        return (prefix + CSI + "Z").encode()
    if "ctrl" in mods:
        if len(base) == 1 and base.isascii() and base.isalpha():
            return (prefix + chr(ord(base.lower()) & 0x1F)).encode()
        control = _CONTROL.get(base)
        return None if control is None else (prefix + control).encode()
    if base in _PLAIN:
        return (prefix + _PLAIN[base]).encode()
    text = character if character and character.isprintable() else None
    if text is None:
        # A key with a modifier may come without its character (Pilot gives none): the name.
        text = base if len(base) == 1 else key_to_character(base)
    if text is None:
        return None
    if "shift" in mods and len(text) == 1:
        text = text.upper()
    return (prefix + text).encode()


def encode_paste(text: str, bracketed: bool) -> bytes:
    """A paste as a terminal sends it: line ends as CR; in brackets if the program asked."""
    text = text.replace("\r\n", "\r").replace("\n", "\r")
    if not bracketed:
        return text.encode()
    # An end marker inside the text would let pasted text run as typed keys.
    return (PASTE_START + text.replace(PASTE_END, "") + PASTE_END).encode()
