"""ShellScreen: one shell session on a terminal, under a tab for every session.

The program gets every key but the session key (ctrl+]); the key after it moves between
sessions, goes back to the list, closes an ended session's tab (SESSION_KEYS). Sessions left
behind keep running, and their terminals keep parsing output, so going back shows them as they
are now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import getters
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from sbtui.tui.dashboard import Dashboard
from sbtui.tui.keymap import SESSION_KEYS
from sbtui.tui.widgets.session_keys import SESSION_KEY, SessionKeys, key_name, matching
from sbtui.tui.widgets.session_tabs import SessionTabs
from sbtui.tui.widgets.terminal import Terminal

if TYPE_CHECKING:
    from sbtui.tui.sessions import Session


class ShellScreen(Screen[None]):
    app = getters.app(Dashboard)
    HELP_SECTIONS = (("Shell session", SESSION_KEYS),)
    HELP_APP_KEYS = False  # the terminal passes q, ? and the rest to its program

    def __init__(self) -> None:
        super().__init__()
        self.session: Session | None = None
        self.terminal = Terminal(id="terminal")
        self.tabs = SessionTabs(id="session-tabs")

    def compose(self) -> ComposeResult:
        yield self.tabs
        yield self.terminal
        yield SessionKeys(id="session-keys")

    def on_mount(self) -> None:
        self.terminal.escape_key = self.app.effective_keys(SESSION_KEY.id, SESSION_KEY.keys)

    def attach(self, session: "Session") -> None:
        self.session = session
        self.tabs.current = session
        self.terminal.send = session.process.stdin.write
        self.terminal.on_resize_process = session.process.resize
        self.tabs.refresh()

    def on_screen_resume(self) -> None:
        if not self.is_current:  # switched away again before the resume arrived
            return
        self.terminal.focus()
        self.tabs.refresh()

    def ended(self) -> None:
        """The program has ended: say so (its tab shows how until it is closed)."""
        if self.session is None or not self.is_attached:
            return  # or the app is closing, and closed the session on its way out
        said = f"session {self.session.number} {self.session.status()}"
        if self.app.screen is self:  # the close key acts on the session shown
            said += f"; {key_name(self.app, SESSION_KEY.id)} {key_name(self.app, 'session.close')} closes it"
        self.notify(said)

    # ---- the session key and the key after it -------------------------------------------

    def on_terminal_escaped(self, message: Terminal.Escaped) -> None:
        message.stop()
        self.tabs.pending = True
        self.query_one(SessionKeys).show(True)

    async def on_terminal_command(self, message: Terminal.Command) -> None:
        message.stop()
        self.tabs.pending = False
        self.query_one(SessionKeys).show(False)
        command = matching(self.app, message.key, message.character)
        if command is None:
            lead = key_name(self.app, SESSION_KEY.id)
            shown = self.app.get_key_display(Binding(message.key, ""))
            self.notify(
                f"{lead} {shown} does nothing; {lead} {key_name(self.app, 'session.help')} "
                "lists the session keys",
                severity="warning",
            )
            return
        await self.run_action(command.action)

    def action_next_session(self) -> None:
        self._switch(1)

    def action_previous_session(self) -> None:
        self._switch(-1)

    def _switch(self, step: int) -> None:
        if self.session is not None and len(self.app.sessions.items) > 1:
            self.app.enter_session(self.app.sessions.after(self.session, step).number)

    def action_go_to_session(self, number: int) -> None:
        if self.app.sessions.get(number) is None:
            self.notify(f"no session {number}", severity="warning")
        else:
            self.app.enter_session(number)

    def action_detach(self) -> None:
        self.app.leave_session()

    def action_close_session(self) -> None:
        session = self.session
        if session is None:
            return
        if not session.ended:
            self.notify(
                f"session {session.number} is still running: end its program first "
                "(exit, or ctrl+d in a shell)",
                severity="warning",
            )
            return
        self.app.close_session(session)

    def action_sessions(self) -> None:
        self.app.show_sessions()

    def action_pass_key(self) -> None:
        self.terminal.send_key(self.terminal.escape_key.split(",")[0])

    def action_help(self) -> None:
        self.app.action_help()

    def action_cancel(self) -> None:
        """Nothing to do: the next key goes to the program again."""
