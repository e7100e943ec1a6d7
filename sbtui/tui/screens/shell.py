"""ShellScreen: one shell session on a terminal; ctrl+] leaves it running and goes back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from sbtui.tui.widgets.terminal import Terminal

if TYPE_CHECKING:
    from sbtui.tui.sessions import Session

DETACH_HINT = "ctrl+] back to the list (the shell keeps running) · w in the list: sessions"


class ShellScreen(Screen[None]):
    def __init__(self) -> None:
        super().__init__()
        self.session: Session | None = None
        self.terminal = Terminal(id="terminal")

    def compose(self) -> ComposeResult:
        yield Static(id="shell-title")
        yield self.terminal

    def attach(self, session: "Session") -> None:
        self.session = session
        self.terminal.send = session.process.stdin.write
        self.terminal.on_resize_process = session.process.resize
        self.show_title()

    def show_title(self) -> None:
        if self.session is None:
            return
        s = self.session
        state = "" if not s.ended else f" · {s.status()} · ctrl+] closes it"
        self.query_one("#shell-title", Static).update(
            f"[b]session {s.number}[/b] · {s.label}{state} · {DETACH_HINT}"
        )

    def on_screen_resume(self) -> None:
        self.terminal.focus()

    def ended(self) -> None:
        """The program has ended: say so; the next ctrl+] closes the session."""
        if not self.is_attached:
            return  # the app is closing, and closed the session on its way out
        self.show_title()
        if self.session is not None:
            self.notify(f"session {self.session.number} {self.session.status()}")

    def on_terminal_detach(self, message: Terminal.Detach) -> None:
        message.stop()
        self.app.leave_session(self.session)
