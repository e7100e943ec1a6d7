"""Messages the app sends its screens."""

from __future__ import annotations

from textual.message import Message

from sbtui.tui.state import StoreChange


class SandboxesChanged(Message):
    """The store changed: these sandboxes, or everything (`change.reset`, after a resync)."""

    def __init__(self, change: StoreChange) -> None:
        super().__init__()
        self.change = change


class SnapshotTaken(Message):
    """A snapshot was taken in the dashboard: lists of images are out of date."""
