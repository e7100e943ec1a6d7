"""Dashboard: the app as its screens and widgets see it, the one seam between them.

A view declares `app = getters.app(Dashboard)` (Textual's typed `self.app`): what it reads of
the app and what it may ask of it are declared here, and SbtuiApp defines them (app.py, and
navigation.py for the screens it opens); the checker holds it to these signatures. The views
can't name SbtuiApp itself: its module opens every screen, so importing it from one of them
would close an import cycle. This module imports no view.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Awaitable, Callable

from textual.app import App

if TYPE_CHECKING:
    from pathlib import Path

    from textual.reactive import reactive

    from sbtui.client import Client, EngineStatus, Image, Sandbox, SandboxInfo
    from sbtui.tui.sessions import Session, Sessions
    from sbtui.tui.state import ConnectionStatus, SandboxStore
    from sbtui.tui.typeahead import TypeAhead


class Dashboard(App[None]):
    """Declarations only; SbtuiApp is the dashboard."""

    # ---- what the views read --------------------------------------------------------------

    client: Client | None  # None until the first connection
    address: str
    readonly: bool
    clock: Callable[[], float]
    store: SandboxStore
    sessions: Sessions
    typeahead: TypeAhead
    keymap_path: Path
    create_draft: dict[str, str] | None
    connection: reactive[ConnectionStatus]
    engine: reactive[EngineStatus | None]

    # ---- what they ask of it (app.py) -------------------------------------------------------

    @abstractmethod
    def connected_client(self) -> Client: ...

    @abstractmethod
    async def sandbox(self, sandbox_id: str) -> Sandbox: ...

    @abstractmethod
    def allows(self, action: str) -> bool: ...

    @abstractmethod
    def refuse_readonly(self, action: str) -> bool: ...

    @abstractmethod
    def effective_keys(self, binding_id: str, default: str) -> str: ...

    @abstractmethod
    def snapshot_taken(self) -> None: ...

    @staticmethod
    @abstractmethod
    def settle_heap() -> None: ...

    # ---- what they ask to be shown (navigation.py) ----------------------------------------

    @abstractmethod
    def show_list(self, select: str | None = None) -> None: ...

    @abstractmethod
    def show_sandbox(self, sandbox_id: str) -> None: ...

    @abstractmethod
    def show_snapshots(self) -> None: ...

    @abstractmethod
    def show_tunnels(self, sandbox_id: str) -> None: ...

    @abstractmethod
    def action_help(self) -> None: ...

    @abstractmethod
    def confirm(self, title: str, question: str, yes: str, then: Callable[[bool | None], None]) -> None: ...

    @abstractmethod
    def pick_app(self, current: str | None, then: Callable[[str | None], None]) -> None: ...

    @abstractmethod
    def pick_image(self, images: list[Image], then: Callable[[Image | None], None]) -> None: ...

    @abstractmethod
    def open_create(self, texts: dict[str, str], title: str = "New sandbox") -> None: ...

    @abstractmethod
    def offer_start_from_snapshot(self, sandbox_id: str, image: Image) -> Awaitable[bool]: ...

    @abstractmethod
    async def start_from_snapshot(self, image: Image, source: SandboxInfo) -> str | None: ...

    @abstractmethod
    async def open_shell(self, sandbox_id: str) -> None: ...

    @abstractmethod
    def show_sessions(self) -> None: ...

    @abstractmethod
    def enter_session(self, number: int) -> None: ...

    @abstractmethod
    def leave_session(self) -> None: ...

    @abstractmethod
    def close_session(self, session: Session) -> None: ...
