"""Shell sessions: PTY exec sessions that live on while the operator is elsewhere.

Each session owns its process and the task that carries its output to where the app said (the
terminal of the session's screen, which the app keeps installed under the session's name, so
leaving it keeps it mounted and drawing). Sessions are kept in the order of their numbers, which
is the order of the tabs in a shell screen.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from sbtui.client import ContainerProcess, SbtuiError

# bash when the image has it, else the POSIX shell every image has.
SHELL = ["sh", "-c", "if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi"]
READ_SIZE = 65536


@dataclass
class Session:
    number: int
    sandbox_id: str
    sandbox_name: str
    process: ContainerProcess
    exit_code: int | None = None
    error: str = ""
    ended: bool = False
    pump: asyncio.Task | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        """The name its screen is installed under in the app."""
        return f"shell-{self.number}"

    @property
    def label(self) -> str:
        return f"{self.sandbox_id} ({self.sandbox_name})" if self.sandbox_name else self.sandbox_id

    @property
    def tab_label(self) -> str:
        """What its tab says: the name people gave the sandbox, else its id."""
        return self.sandbox_name or self.sandbox_id

    def status(self) -> str:
        if not self.ended:
            return "running"
        return f"ended ({self.error})" if self.error else f"exited ({self.exit_code})"


Output = Callable[[bytes], Awaitable[None]]


async def pump(session: Session, output: Output) -> None:
    """Program output to `output` until the program ends; then record how it ended."""
    try:
        while chunk := await session.process.stdout.read(READ_SIZE):
            assert isinstance(chunk, bytes)  # the program was started without text=True
            await output(chunk)
        session.exit_code = await session.process.wait()
    except SbtuiError as err:
        session.error = str(err)
    finally:
        session.ended = True


class Sessions:
    def __init__(
        self, on_change: Callable[[], None] | None = None, on_end: Callable[[Session], None] | None = None
    ) -> None:
        """`on_change` is called when a session is added, ends or is removed; `on_end` first,
        with the session, when its program has ended."""
        self.items: list[Session] = []
        self._on_change = on_change
        self._on_end = on_end

    def next_number(self) -> int:
        """The lowest number no session has: numbers stay small enough to be typed as digits."""
        taken = {s.number for s in self.items}
        return next(n for n in range(1, len(taken) + 2) if n not in taken)

    def get(self, number: int) -> Session | None:
        return next((s for s in self.items if s.number == number), None)

    def after(self, session: Session, step: int) -> Session:
        """The session `step` tabs away from `session`, going round at either end."""
        index = self.items.index(session) if session in self.items else 0
        return self.items[(index + step) % len(self.items)]

    def add(self, session: Session, output: Output) -> None:
        """Keep `session`, and carry its program's output to `output` from now on."""
        self.items.append(session)
        self.items.sort(key=lambda s: s.number)
        session.pump = asyncio.create_task(self._run(session, output), name=session.name)
        self._changed()

    async def _run(self, session: Session, output: Output) -> None:
        await pump(session, output)
        if self._on_end is not None:
            self._on_end(session)
        self._changed()

    def remove(self, session: Session) -> None:
        if session in self.items:
            self.items.remove(session)
            self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    async def close_all(self) -> None:
        for session in list(self.items):
            await session.process.close()
