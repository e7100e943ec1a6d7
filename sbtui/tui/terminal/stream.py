"""TerminalStream: a pyte Stream that tokenizes with one regular expression.

pyte's Stream sends every byte that isn't plain text through a generator, one `send()` per
character, and a ByteStream decodes per feed; both cost more than the screen updates
themselves. Here one compiled pattern splits a chunk into runs of text, whole escape
sequences and control characters, so each token costs one regex step and one call. Runs of
plain ASCII lines ending in CR LF (the shape of most floods: `cat`, `seq`, logs) are taken
as one token.

A sequence cut by the end of a chunk is kept and completed by the next one; UTF-8 is decoded
once per chunk by an incremental decoder (`feed_bytes`), so a character split across chunks
is never broken.

Beyond pyte's tables it routes `ESC E` to `next_line`, `CSI > c` to the secondary device
attributes, `CSI ? ...` only to the handlers that have a private form, SU/SD/REP/CHT/CBT,
HPA (`CSI n` and a backquote), SCOSC/SCORC, DECSTR and the keypad modes, honours `ESC ( 0`
line drawing in UTF-8 mode (as xterm does), and skips DCS/APC/PM/SOS strings instead of
printing them.

A handler that raises never takes the terminal down (the bytes are a program's output), but
the error is not lost either: `errors` counts them, `last_error` keeps the latest, and each
kind is logged once per stream (in the dashboard, warnings land in dashboard.log).
"""

from __future__ import annotations

import codecs
import functools
import logging
import re
from typing import Any, Callable, Literal

import pyte

_TOKEN = re.compile(
    r"((?:[\x20-\x7e]*+\r\n)+)"  # 1: whole ASCII lines (possessive: 7x faster)
    r"|([^\x00-\x1f\x7f-\x9f]+)"  # 2: text
    r"|\x1b\[([\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e])"  # 3: CSI
    r"|([\x00-\x1a\x1c-\x1f\x7f-\x9f])"  # 4: a control character
    r"|\x1b([\x20-\x2f]*[\x30-\x4f\x51-\x57\x59\x5a\x5c\x60-\x7e])"  # 5: other escapes
    r"|\x1b\]([^\x07\x1b\x9c]*)(?:\x07|\x1b\\|\x9c)"  # 6: OSC
    r"|(\x1b[P_^X][^\x1b\x9c]*(?:\x1b\\|\x9c))"  # 7: DCS, APC, PM, SOS: skipped
    r"|\x1b\[([\x00-\x17\x19\x1c-\x3f]*[\x40-\x7e])"  # 8: CSI with controls inside
    r"|(\x1b(?:\[[\x00-\x17\x19\x1c-\x3f]*|\][^\x07\x9c]*|[P_^X][^\x9c]*|[\x20-\x2f]*))\Z"  # 9
    r"|(\x1b)"  # 10: an escape that starts nothing valid
)
_LINES, _TEXT, _CSI, _CTRL, _ESC, _OSC, _STRING, _CSI_CTRL, _PARTIAL, _BAD = range(1, 11)
_CONTROLS = re.compile(r"[\x00-\x1f]")

# A cut-off sequence longer than this is dropped rather than kept growing (an endless OSC).
MAX_PENDING = 1 << 20
# Distinct handler errors logged per stream; a program repeating a bad sequence logs it once.
MAX_LOGGED_ERRORS = 32
_CACHE_LIMIT = 4096
# A CSI sequence parsed: (handler number, parameters), or None to ignore it.
_Parsed = tuple[int, tuple[int, ...]] | None
_INTERMEDIATE = "".join(map(chr, range(0x20, 0x30)))

log = logging.getLogger(__name__)


class TerminalStream(pyte.Stream):
    """Feed it text with `feed` or bytes with `feed_bytes`; it drives a TerminalScreen."""

    escape = {
        **pyte.Stream.escape,
        "E": "next_line",
        "=": "set_keypad_application",
        ">": "set_keypad_numeric",
    }
    csi = {
        **pyte.Stream.csi,
        "S": "scroll_up",
        "T": "scroll_down",
        "b": "repeat_last",
        "I": "forward_tab",
        "Z": "back_tab",
        "s": "save_cursor",
        "u": "restore_cursor",
        # HPA, as CHA. pyte files it under an apostrophe, which can't end a CSI sequence.
        "`": "cursor_to_column",
    }
    # The private and prefixed forms that mean something; every other one is ignored.
    private_csi = {
        "h": "set_mode",
        "l": "reset_mode",
        "J": "erase_in_display",
        "K": "erase_in_line",
        "n": "report_device_status",
        "m": "select_graphic_rendition",
        "r": "set_margins",
    }
    events = pyte.Stream.events | frozenset(escape.values()) | frozenset(csi.values()) | {"soft_reset"}
    listener: pyte.Screen  # None (pyte's default) only until a screen is attached: feed checks

    def __init__(self, screen: Any = None, strict: bool = True) -> None:
        self.utf8_decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.errors = 0
        self.last_error: BaseException | None = None
        self._logged_errors: set[tuple[type, str]] = set()
        self._tail = ""
        super().__init__(screen, strict=strict)

    def attach(self, screen: Any) -> None:
        super().attach(screen)
        self._controls: dict[str, Callable[[], None]] = {
            char: getattr(screen, name) for char, name in self.basic.items()
        }
        # Handlers by number, so that the cache holds only exact tuples of ints, which the
        # garbage collector untracks (a bound method in each entry kept it walking them).
        self._handlers: list[Callable[..., None]] = []
        self._handler_index: dict[tuple[str, bool, bool], int] = {}
        self._csi_cache: dict[str, _Parsed] = {}

    def feed_bytes(self, data: bytes | memoryview) -> None:
        self.feed(self.utf8_decoder.decode(data))

    def feed(self, data: str) -> None:
        screen = self.listener
        if screen is None:
            raise RuntimeError("Listener is not set")
        if self._tail:
            data = self._tail + data
            self._tail = ""
        draw = screen.draw
        controls = self._controls
        csi_cache = self._csi_cache
        handlers = self._handlers
        for match in _TOKEN.finditer(data):
            kind = match.lastindex
            if kind == _TEXT:
                draw(match[_TEXT])
            elif kind == _LINES:
                self._lines(match[_LINES])
            elif kind == _CSI:
                # _csi, inlined for the cache hit: a call less on the busiest path.
                sequence = match[_CSI]
                parsed: _Parsed | Literal[False] = csi_cache.get(sequence, False)
                if parsed is False:
                    self._csi(sequence)
                elif parsed is not None:
                    try:
                        handlers[parsed[0]](*parsed[1])
                    except Exception as error:
                        self._failed(error, f"CSI {sequence}")
            elif kind == _CTRL:
                handler = controls.get(match[_CTRL])
                if handler is not None:
                    handler()
            elif kind == _ESC:
                self._escape(match[_ESC])
            elif kind == _OSC:
                self._osc(match[_OSC])
            elif kind == _CSI_CTRL:
                self._csi_with_controls(match[_CSI_CTRL])
            elif kind == _PARTIAL:
                tail = match[_PARTIAL]
                if len(tail) <= MAX_PENDING:
                    self._tail = tail
            # _STRING and _BAD: nothing to show

    def _lines(self, block: str) -> None:
        lines = block.split("\r\n")
        lines.pop()  # the block ends with CR LF: the last piece is empty
        screen = self.listener
        draw_lines = getattr(screen, "draw_lines", None)
        if draw_lines is not None:
            draw_lines(lines)
            return
        for text in lines:  # a stock pyte screen
            if text:
                screen.draw(text)
            screen.carriage_return()
            screen.linefeed()

    def _csi(self, sequence: str) -> None:
        parsed: _Parsed | Literal[False] = self._csi_cache.get(sequence, False)
        if parsed is False:
            if len(self._csi_cache) >= _CACHE_LIMIT:
                self._csi_cache.clear()
            parsed = self._csi_cache[sequence] = self._parse_csi(sequence)
        if parsed is not None:
            try:
                self._handlers[parsed[0]](*parsed[1])
            except Exception as error:
                # A program's output must never take the terminal down; the count shows in tests.
                self._failed(error, f"CSI {sequence}")

    def _parse_csi(self, sequence: str) -> _Parsed:
        """(handler number, parameters) for a CSI sequence, or None to ignore it."""
        final = sequence[-1]
        body = sequence[:-1]
        stripped = body.rstrip(_INTERMEDIATE)
        intermediates = body[len(stripped) :]
        body = stripped
        prefix = ""
        if body[:1] in ("?", ">", "=", "<") and body:
            prefix, body = body[0], body[1:]
        params = _parse_params(body, final)
        if params is None:
            return None
        name: str | None = None
        private = secondary = False
        if not prefix and not intermediates:
            name = self.csi.get(final)
        elif prefix == "?" and not intermediates:
            name, private = self.private_csi.get(final), True
        elif prefix == ">" and final == "c" and not intermediates:
            name, secondary = "report_device_attributes", True
        elif not prefix and intermediates == "!" and final == "p":
            name, params = "soft_reset", ()
        if name is None:
            return None
        return self._handler(name, private, secondary), params

    def _handler(self, name: str, private: bool, secondary: bool) -> int:
        key = (name, private, secondary)
        index = self._handler_index.get(key)
        if index is None:
            handler = getattr(self.listener, name)
            if private:
                handler = functools.partial(handler, private=True)
            elif secondary:
                handler = functools.partial(handler, secondary=True)
            index = self._handler_index[key] = len(self._handlers)
            self._handlers.append(handler)
        return index

    def _csi_with_controls(self, sequence: str) -> None:
        # VT100s execute controls met inside a sequence and go on with the sequence.
        for control in _CONTROLS.findall(sequence):
            handler = self._controls.get(control)
            if handler is not None:
                handler()
        self._csi(_CONTROLS.sub("", sequence))

    def _escape(self, sequence: str) -> None:
        screen = self.listener
        try:
            if len(sequence) == 1:
                name = self.escape.get(sequence)
                if name is not None:
                    getattr(screen, name)()
            elif sequence[0] in "()" and len(sequence) == 2:
                screen.define_charset(sequence[1], mode=sequence[0])
            elif sequence[0] == "#" and len(sequence) == 2:
                name = self.sharp.get(sequence[1])
                if name is not None:
                    getattr(screen, name)()
            # ESC % (charset switching) is ignored: the stream is always UTF-8.
        except Exception as error:
            self._failed(error, f"ESC {sequence}")

    def _osc(self, body: str) -> None:
        code, _, param = body.partition(";")
        screen = self.listener
        if code in ("0", "1"):
            screen.set_icon_name(param)
        if code in ("0", "2"):
            screen.set_title(param)

    def _failed(self, error: BaseException, sequence: str) -> None:
        """A handler raised on `sequence` (as `CSI 1;2H`): count it, keep it, log it once."""
        self.errors += 1
        self.last_error = error
        self.listener.debug(error)
        kind = (type(error), str(error))
        if kind not in self._logged_errors and len(self._logged_errors) < MAX_LOGGED_ERRORS:
            self._logged_errors.add(kind)
            log.warning("terminal: %r ignored, its handler failed: %r", sequence, error, exc_info=error)


def _parse_params(body: str, final: str) -> tuple[int, ...] | None:
    """`1;2` -> (1, 2); empty fields are 0 and values stop at 9999, as pyte reads them."""
    if not body:
        return (0,)
    if ":" in body:
        body = (
            _colon_params(body)
            if final == "m"
            else ";".join(part.split(":", 1)[0] for part in body.split(";"))
        )
    try:
        return tuple([min(int(part), 9999) if part else 0 for part in body.split(";")])
    except ValueError:
        return None


def _colon_params(body: str) -> str:
    """SGR's colon form (`38:2::r:g:b`, `4:3`) rewritten in the semicolon form pyte reads."""
    out: list[str] = []
    for group in body.split(";"):
        sub = group.split(":")
        head = sub[0]
        if len(sub) == 1:
            out.append(head)
        elif head in ("38", "48", "58") and sub[1] == "2" and len(sub) >= 5:
            out += [head, "2", *sub[-3:]]
        elif head in ("38", "48", "58") and sub[1] == "5" and len(sub) >= 3:
            out += [head, "5", sub[2]]
        elif head == "4":
            out.append("4" if sub[1] not in ("", "0") else "24")
        else:
            out.append(head)
    return ";".join(out)
