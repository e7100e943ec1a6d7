"""Waiting in Pilot tests: run the app until a condition holds, with a deadline (never a bare sleep)."""

from __future__ import annotations

from typing import Callable

from textual.pilot import Pilot

from tests import servers


async def until(pilot: Pilot, condition: Callable[[], object], what: str, timeout: float = 20.0):
    """Let the app run until `condition()` (sync or async) is truthy; return its value.

    Fails naming `what` after `timeout` seconds.
    """
    return await servers.until(condition, timeout, what, pause=lambda: pilot.pause(0.02))
