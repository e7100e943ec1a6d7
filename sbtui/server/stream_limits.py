"""How many long-lived calls may be open at once, per sandbox and per environment.

A flood of execs into one sandbox used to queue every other caller's exec behind it at the
engine (1000 of them held another sandbox's exec for over 30 s). Each open call here costs an
engine connection, an engine process or a fan-out of events, so it is counted, and a call past
the limit is refused at once, before the engine is asked for anything:

- per sandbox: exec sessions and log reads of that sandbox;
- per environment: those of all its sandboxes, and watches of that environment.

The operator sets both (`sbtui server --max-streams-per-sandbox/--max-streams-per-environment`).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from typing import Iterator

import grpc

from sbtui.server.errors import ServiceError

DEFAULT_PER_SANDBOX = 32
DEFAULT_PER_ENVIRONMENT = 128


class StreamLimits:
    def __init__(
        self, per_sandbox: int = DEFAULT_PER_SANDBOX, per_environment: int = DEFAULT_PER_ENVIRONMENT
    ) -> None:
        self.per_sandbox = per_sandbox
        self.per_environment = per_environment
        self._sandboxes: Counter[str] = Counter()
        self._environments: Counter[str] = Counter()

    @contextlib.contextmanager
    def hold(self, what: str, environment: str, sandbox_id: str = "") -> Iterator[None]:
        """Count one `what` ("exec", "log read", "watch") while the block runs; refuse it with
        RESOURCE_EXHAUSTED when the sandbox or the environment is at its limit."""
        if sandbox_id and self._sandboxes[sandbox_id] >= self.per_sandbox:
            raise _refused(
                what,
                f"sandbox {sandbox_id} already has {self.per_sandbox} exec sessions and log reads open",
                "per sandbox",
                "--max-streams-per-sandbox",
                self.per_sandbox,
            )
        if self._environments[environment] >= self.per_environment:
            raise _refused(
                what,
                f"environment {environment!r} already has {self.per_environment} exec "
                "sessions, log reads and watches open",
                "per environment",
                "--max-streams-per-environment",
                self.per_environment,
            )
        if sandbox_id:
            self._sandboxes[sandbox_id] += 1
        self._environments[environment] += 1
        try:
            yield
        finally:
            _release(self._environments, environment)
            if sandbox_id:
                _release(self._sandboxes, sandbox_id)


def _release(counts: Counter[str], key: str) -> None:
    counts[key] -= 1
    if counts[key] <= 0:
        del counts[key]  # a counter per sandbox ever seen would grow without end


def _refused(what: str, state: str, scope: str, flag: str, limit: int) -> ServiceError:
    return ServiceError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        f"{what} refused: {state}, the most this server allows {scope} ({flag} {limit}); "
        "close one or wait for one to end, then try again, or ask the server's operator to "
        "raise the limit",
    )
