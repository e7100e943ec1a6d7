"""Navigation: every screen the dashboard shows is opened here, and nowhere else.

Screens ask the app for what they want shown (a sandbox, the snapshots, the create form, a
question for the operator), never for a screen class: so no screen imports another, and a flow
that runs across screens (a sandbox started from a snapshot) is written once. SbtuiApp is built
on it.

Each screen's module is imported when the screen is first shown: the dashboard starts without
loading the screens it may never show (importing them all adds some 50 ms to its start).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Awaitable, Callable

from textual.screen import Screen

from sbtui.client import App, Image, SandboxInfo, SbtuiError
from sbtui.tui.dashboard import Dashboard
from sbtui.tui.params import create_kwargs
from sbtui.tui.sessions import SHELL, Session

if TYPE_CHECKING:
    from sbtui.tui.screens.sandbox_list import SandboxListScreen
    from sbtui.tui.screens.shell import ShellScreen


class Navigation(Dashboard):
    """The screens of SbtuiApp: what it shows, on whose request, and where a flow ends."""

    _sandbox_list: SandboxListScreen
    _starting_from_snapshot = False

    # ---- the list, a sandbox, the snapshots ---------------------------------------------

    def get_default_screen(self) -> Screen:
        from sbtui.tui.screens.sandbox_list import SandboxListScreen

        self._sandbox_list = SandboxListScreen()  # always at the bottom of the stack
        return self._sandbox_list

    def show_list(self, select: str | None = None) -> None:
        """Back to the list, closing every screen above it; with `select` selected as soon as
        the watch brings it."""
        while len(self.screen_stack) > 1 and self.screen is not self._sandbox_list:
            self.pop_screen()
        if select is not None:
            self._sandbox_list.select_sandbox(select)

    def show_sandbox(self, sandbox_id: str) -> None:
        from sbtui.tui.screens.sandbox_detail import SandboxDetailScreen

        self.push_screen(SandboxDetailScreen(sandbox_id))

    def show_snapshots(self) -> None:
        from sbtui.tui.screens.snapshots import SnapshotsScreen

        self.push_screen(SnapshotsScreen())

    def show_tunnels(self, sandbox_id: str) -> None:
        from sbtui.tui.screens.tunnels import TunnelsScreen

        self.push_screen(TunnelsScreen(sandbox_id))

    def action_help(self) -> None:
        """The keys of the screen shown."""
        from sbtui.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    # ---- questions and choices ----------------------------------------------------------

    def confirm(self, title: str, question: str, yes: str, then: Callable[[bool | None], None]) -> None:
        """Ask before something that can't be undone; `then` gets the answer."""
        from sbtui.tui.screens.confirm import ConfirmScreen

        self.push_screen(ConfirmScreen(title, question, yes), callback=then)

    def pick_app(self, current: str | None, then: Callable[[str | None], None]) -> None:
        """The apps that have sandboxes; `then` gets the name, "" for every app, None if none."""
        from sbtui.tui.screens.app_picker import AppPicker

        self.push_screen(AppPicker(self.store.app_names(), current), callback=then)

    def pick_image(self, images: list[Image], then: Callable[[Image | None], None]) -> None:
        from sbtui.tui.screens.image_picker import ImagePicker

        self.push_screen(ImagePicker(images, self.clock()), callback=then)

    # ---- create -------------------------------------------------------------------------

    def open_create(self, texts: dict[str, str], title: str = "New sandbox") -> None:
        """The create form with `texts`; a plain new form gets the draft escape kept instead."""
        from sbtui.tui.screens.create import CreateScreen

        if title == "New sandbox" and self.create_draft is not None:
            texts, title = self.create_draft, "New sandbox (your draft; ctrl+l clears it)"
        self.push_screen(CreateScreen(texts, title), callback=self.show_created)

    def show_created(self, sandbox_id: str | None) -> None:
        """Back to the list, with the new sandbox selected as soon as the watch brings it."""
        if sandbox_id is None:
            return
        self.show_list(select=sandbox_id)
        self.notify(f"created {sandbox_id}")

    # ---- snapshots ----------------------------------------------------------------------

    def offer_start_from_snapshot(self, sandbox_id: str, image: Image) -> Awaitable[bool]:
        """The image a snapshot of `sandbox_id` made; True if the operator asks to start a
        sandbox from it. Awaited in a worker."""
        from sbtui.tui.screens.snapshot import SnapshotScreen

        return self.push_screen_wait(SnapshotScreen(sandbox_id, image))

    async def start_from_snapshot(self, image: Image, source: SandboxInfo) -> str | None:
        """A sandbox from `image` in the app of the sandbox it was taken of, with that sandbox's
        parameters (but no name, which must stay unique), selected in the list as soon as the
        watch brings it. Returns its id; None when it was not started (the operator is told).
        Awaited in the worker of the screen that asked: leaving that screen cancels it."""
        if self._starting_from_snapshot:
            self.notify("a sandbox is already being started", severity="warning")
            return None
        self._starting_from_snapshot = True
        self.notify(f"starting a sandbox from {image.image_id} in app {source.app_name}…")
        try:
            app = App(source.app_id, source.app_name, source.environment)
            created = await self.connected_client().sandboxes.create(app, image, **create_kwargs(source))
        except SbtuiError as err:
            self.notify(f"could not start a sandbox from {image.image_id}: {err}", severity="error")
            return None
        finally:
            self._starting_from_snapshot = False
        self.notify(
            f"started {created.sandbox_id} from {image.image_id}, the snapshot of {source.sandbox_id}"
        )
        self._sandbox_list.select_sandbox(created.sandbox_id)
        return created.sandbox_id

    # ---- shell sessions -----------------------------------------------------------------

    async def open_shell(self, sandbox_id: str) -> None:
        """Start a shell in the sandbox on a new terminal screen and show it."""
        from sbtui.tui.screens.shell import ShellScreen

        sandbox = await self.sandbox(sandbox_id)
        screen = ShellScreen()
        rows, cols = max(self.size.height - 1, 2), max(self.size.width, 2)
        process = await sandbox.exec(SHELL, pty=True, pty_size=(rows, cols), term="xterm-256color")
        session = Session(self.sessions.next_number(), sandbox_id, sandbox.info.name, process)
        self.install_screen(screen, session.name)
        await self._show_session(session)
        screen.attach(session)
        self.sessions.add(session, screen.terminal.write)

    def shell_screen(self, session: Session) -> ShellScreen | None:
        """The screen `session` is shown on; None once it is closed (or the app is)."""
        from sbtui.tui.screens.shell import ShellScreen

        if not self.is_screen_installed(session.name):
            return None
        return self.get_screen(session.name, ShellScreen)

    def _show_session(self, session: Session) -> Awaitable[object]:
        """From another session: in its place (a tab switch); from elsewhere: on top."""
        from sbtui.tui.screens.shell import ShellScreen

        if isinstance(self.screen, ShellScreen):
            return self.switch_screen(session.name)
        return self.push_screen(session.name)

    def enter_session(self, number: int) -> None:
        if (session := self.sessions.get(number)) is not None:
            self._show_session(session)

    def show_sessions(self) -> None:
        """The shell sessions, to go back into one."""
        from sbtui.tui.screens.sessions import SessionsScreen

        self.push_screen(SessionsScreen(), callback=self._session_chosen)

    def _session_chosen(self, number: int | None) -> None:
        if number is not None:
            self.enter_session(number)

    def leave_session(self) -> None:
        """Back to where the operator came from; sessions live on (ended ones until closed)."""
        self.pop_screen()

    def close_session(self, session: Session) -> None:
        """Forget an ended session: show the tab to its right, else the one to its left (or go
        back if none is left), then drop its screen."""
        items = self.sessions.items
        index = items.index(session)
        neighbours = items[index + 1 : index + 2] or items[max(index - 1, 0) : index]
        self.sessions.remove(session)
        if self.screen is self.shell_screen(session):
            if neighbours:
                self.switch_screen(neighbours[0].name)
            else:
                self.pop_screen()
        self.uninstall_screen(session.name)

    def _sessions_changed(self) -> None:
        for session in self.sessions.items:
            screen = self.shell_screen(session)
            if screen is not None and screen.is_mounted:
                screen.tabs.refresh()

    def _session_ended(self, session: Session) -> None:
        if (screen := self.shell_screen(session)) is not None:
            screen.ended()
