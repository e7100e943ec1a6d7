"""The terminal emulator behind the Terminal widget: a fixed, fast pyte screen and stream."""

from sbtui.tui.terminal.screen import TerminalScreen
from sbtui.tui.terminal.stream import TerminalStream

__all__ = ["TerminalScreen", "TerminalStream"]
