"""Shell sessions: PTY exec sessions that live on while the operator is elsewhere.

Each session owns its process, its terminal screen (installed in the app, so leaving it
keeps it mounted and drawing) and the task that carries output to the terminal.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sbtui.client import ContainerProcess, SbtuiError

if TYPE_CHECKING:
    from sbtui.tui.screens.shell import ShellScreen

# bash when the image has it, else the POSIX shell every image has.
SHELL = ["sh", "-c", "if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi"]
READ_SIZE = 65536


@dataclass
class Session:
    number: int
    sandbox_id: str
    label: str
    process: ContainerProcess
    screen: "ShellScreen"
    exit_code: int | None = None
    error: str = ""
    pump: asyncio.Task | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        """The screen's name in the app."""
        return f"shell-{self.number}"

    @property
    def ended(self) -> bool:
        return self.pump is not None and self.pump.done()

    def status(self) -> str:
        if not self.ended:
            return "running"
        return f"ended ({self.error})" if self.error else f"exited ({self.exit_code})"


async def pump(session: Session) -> None:
    """Program output to the terminal until the program ends; then record how it ended."""
    terminal = session.screen.terminal
    try:
        while chunk := await session.process.stdout.read(READ_SIZE):
            await terminal.write(chunk)
        session.exit_code = await session.process.wait()
    except SbtuiError as err:
        session.error = str(err)
    session.screen.ended()


class Sessions:
    def __init__(self) -> None:
        self.items: list[Session] = []
        self._numbers = 0

    def next_number(self) -> int:
        self._numbers += 1
        return self._numbers

    def add(self, session: Session) -> None:
        self.items.append(session)
        session.pump = asyncio.create_task(pump(session), name=session.name)

    def remove(self, session: Session) -> None:
        if session in self.items:
            self.items.remove(session)

    async def close_all(self) -> None:
        for session in list(self.items):
            await session.process.close()
