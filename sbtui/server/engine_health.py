"""How the container engine is doing, as the server last saw it: ok, restarting (a Podman
service the server runs, after it died) or down (an engine the server does not run, while it
does not answer). Clients see it in ServerInfo; creates and execs are refused with it while
the engine is not ok, rather than failing half-way or starting on an engine about to be
cleaned up.
"""

from __future__ import annotations

import time

from sbtui.proto import sandbox_pb2 as pb
from sbtui.server.runtime.base import EngineUnavailable


class EngineHealth:
    def __init__(self, name: str) -> None:
        self.name = name  # "docker" or "podman"
        self.state = pb.ENGINE_STATE_OK
        self.attempt = 0
        self.last_error = ""
        self.since = time.time()
        self.restarts = 0
        self.service_pid = 0  # the engine service the server runs, if it runs one
        # Counts the losses of the engine: a stream opened before a loss was cut by it.
        self.losses = 0
        # Set when the engine's event stream broke and the engine stopped answering, until a
        # reconcile has caught up once it is back (reconcile.py): the exits found until then
        # happened while it was away, and may be its own stop's.
        self.catching_up = False

    @property
    def ok(self) -> bool:
        return self.state == pb.ENGINE_STATE_OK

    def _enter(self, state: pb.EngineState) -> None:
        if state != self.state:
            self.state, self.since = state, time.time()

    def restarting(self, attempt: int, error: str) -> None:
        """The server restarts the engine service; `error` is why it is needed (or why the
        previous attempt failed)."""
        if self.ok:
            self.losses += 1
        self._enter(pb.ENGINE_STATE_RESTARTING)
        self.attempt, self.last_error = attempt, error

    def restarted(self, pid: int) -> None:
        self.restarts += 1
        self.service_pid = pid
        self.attempt = 0
        self._enter(pb.ENGINE_STATE_OK)

    def down(self, error: str) -> None:
        """The engine stopped answering. A restart under way says more, and stays."""
        if self.state == pb.ENGINE_STATE_RESTARTING:
            return
        if self.ok:
            self.losses += 1
        self._enter(pb.ENGINE_STATE_DOWN)
        self.last_error = error

    def answering(self) -> None:
        """The engine answers again (a restart under way ends with `restarted` instead)."""
        if self.state == pb.ENGINE_STATE_DOWN:
            self._enter(pb.ENGINE_STATE_OK)

    def describe(self) -> str:
        if self.state == pb.ENGINE_STATE_RESTARTING:
            return (
                f"{self.name} is restarting (attempt {self.attempt}, last error: "
                f"{self.last_error}); try again in a moment"
            )
        if self.state == pb.ENGINE_STATE_DOWN:
            return f"{self.name} does not answer ({self.last_error}); try again once it is back"
        return f"{self.name} is ok"

    def check(self) -> None:
        """Refuse a call that needs the engine while it is not ok."""
        if not self.ok:
            raise EngineUnavailable(self.describe())

    def to_pb(self, admin: bool) -> pb.EngineStatus:
        return pb.EngineStatus(
            state=self.state,
            attempt=self.attempt,
            last_error=self.last_error,
            since=self.since,
            restarts=self.restarts,
            service_pid=self.service_pid if admin else 0,
        )
