"""Waiting in Pilot tests: run the app until a condition holds, with a deadline (never a bare sleep)."""

from __future__ import annotations

import inspect
import time
from typing import Callable

from textual.pilot import Pilot


async def until(pilot: Pilot, condition: Callable[[], object], what: str, timeout: float = 20.0):
    """Let the app run until `condition()` (sync or async) is truthy; return its value.

    Fails naming `what` after `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.02)
