"""SandboxActions: what both the list (on its selected row) and the detail screen can do."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual import getters, work

from sbtui.client import SandboxInfo, SandboxState, SbtuiError
from sbtui.tui.dashboard import Dashboard
from sbtui.tui.typeahead import Hold

if TYPE_CHECKING:
    from textual.screen import Screen

    _Screen = Screen  # what the checker sees: the screens it is mixed into
else:
    _Screen = object


_NEEDS_LIVE = frozenset({"terminate", "exec", "shell"})
_NEEDS_TARGET = _NEEDS_LIVE | {"tunnels", "duplicate"}


class SandboxActions(_Screen):
    """Mixed into a Screen that says which sandbox its actions are for."""

    app = getters.app(Dashboard)

    def target_sandbox_id(self) -> str | None:
        """The sandbox the actions apply to; screens mixing this in say which."""
        return None

    def target_info(self) -> SandboxInfo | None:
        sandbox_id = self.target_sandbox_id()
        return self.app.store.get(sandbox_id) if sandbox_id else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Hidden (footer, palette) and refused with --readonly.
        if not self.app.allows(action):
            return False
        if action in _NEEDS_TARGET:
            return action in self.offered_actions()
        return True

    def offered_actions(self) -> frozenset[str]:
        """Which of the actions that depend on the sandbox make sense for it now: nothing to
        terminate, exec in or tunnel to once it finished, no tunnels without declared ports; any
        sandbox can be duplicated. Screens refresh their bindings when this changes."""
        info = self.target_info()
        if info is None:
            return frozenset()
        if info.state == SandboxState.FINISHED:
            return frozenset({"duplicate"})
        p = info.params
        ports = bool(p.encrypted_ports or p.h2_ports or p.unencrypted_ports)
        return _NEEDS_LIVE | {"duplicate"} | ({"tunnels"} if ports else set())

    def _target(self) -> str | None:
        sandbox_id = self.target_sandbox_id()
        if sandbox_id is None:
            self.notify("no sandbox selected", severity="warning")
        return sandbox_id

    def action_terminate(self) -> None:
        if self.app.refuse_readonly("terminate") or (sandbox_id := self._target()) is None:
            return
        info = self.app.store.get(sandbox_id)
        if info is not None and info.state == SandboxState.FINISHED:
            self.notify(f"{sandbox_id} has already finished")
            return
        label = f"{sandbox_id} ({info.name})" if info is not None and info.name else sandbox_id
        question = (
            f"Terminate {label}?\n\nIts main command and every exec are stopped. "
            "A finished sandbox can't be started again."
        )
        self.app.confirm(
            "Terminate sandbox", question, "Terminate", then=partial(self._terminate_answered, sandbox_id)
        )

    def _terminate_answered(self, sandbox_id: str, yes: bool | None) -> None:
        if yes:
            self._terminate(sandbox_id)

    @work(group="terminate")
    async def _terminate(self, sandbox_id: str) -> None:
        try:
            sandbox = await self.app.sandbox(sandbox_id)
            await sandbox.terminate()
        except SbtuiError as err:
            self.notify(f"could not terminate {sandbox_id}: {err}", severity="error")
            return
        self.notify(f"terminating {sandbox_id}")

    def action_shell(self) -> None:
        if self.app.refuse_readonly("shell") or (sandbox_id := self._target()) is None:
            return
        # The keys typed after `s` are for the shell: they wait until it is open.
        self._open_shell(sandbox_id, self.app.typeahead.hold("opening a shell"))

    @work(group="shell")
    async def _open_shell(self, sandbox_id: str, held: Hold) -> None:
        try:
            await self.app.open_shell(sandbox_id)
        except SbtuiError as err:
            dropped = held.drop()
            also = f"; the {dropped} key(s) typed for it were dropped" if dropped else ""
            self.notify(f"could not open a shell in {sandbox_id}: {err}{also}", severity="error")
        finally:
            held.release()

    def action_sessions(self) -> None:
        if not self.app.sessions.items:
            self.notify("no shell sessions yet: s opens one in the selected sandbox")
            return
        self.app.show_sessions()

    def action_duplicate(self) -> None:
        """The create form, filled in with the sandbox's app, image and parameters (no name)."""
        from sbtui.tui.create_fields import texts_of

        if self.app.refuse_readonly("duplicate") or (sandbox_id := self._target()) is None:
            return
        info = self.target_info()
        if info is None:
            self.notify(f"{sandbox_id} is not loaded yet", severity="warning")
            return
        self.app.open_create(texts_of(info), f"New sandbox like {sandbox_id}")

    def action_tunnels(self) -> None:
        if (sandbox_id := self._target()) is not None:
            self.app.show_tunnels(sandbox_id)
