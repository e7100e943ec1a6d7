"""Keys typed ahead: each key goes where it would have gone had the keys come one by one.

Over SSH, from a paste or from a fast typist, many keys arrive in one read. Textual hands each
key to the widget focused when the app takes it from its queue, and the key's binding runs only
once the key has bubbled back up to the app, one message hop at a time: so by the time `/` has
opened the filter prompt, the keys after it have long gone to the table. A focus asked for with
`widget.focus()`, a screen pushed and its first focus, come later still.

So the app lets a key through only once the last one has settled: no message waiting in the
app, the current screen or any widget on it, nothing waiting to run after a refresh, and no
asynchronous step holding the keys (`TypeAhead.hold`: opening a shell takes a round trip to the
server, and the keys typed after `s` belong to the shell). Keys that come slowly find the app
settled and go through at once, as before.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING

from textual import events, messages
from textual.app import ScreenStackError
from textual.message import Message
from textual.message_pump import MessagePump

if TYPE_CHECKING:
    from textual.app import App

# An app never quiet twice running (a widget that animates without a pause) must not keep the
# keys for good: after this long the next key goes on anyway.
SETTLE_LIMIT = 5.0
# An asynchronous step that takes longer than this (a server that does not answer) lets the keys
# go: they are dropped, and the operator told, rather than kept from the dashboard for good.
HOLD_LIMIT = 30.0
# How soon to look again while the app is busy: short enough to add nothing a typist feels, long
# enough not to take the CPU from the app it is waiting for.
LOOK_AGAIN = 0.002

Typed = events.Key | events.Paste
# Keys that act at once whatever is ahead of them: the way out of a dashboard stuck waiting
# (quit.now's key; a keys.toml that moves it still has the others held, which is only slower).
NEVER_HELD = frozenset({"ctrl+q"})


class Hold:
    """Keys wait while this is held: from the key that started an asynchronous step (given to
    `TypeAhead.hold` before its action returns) to the step's end."""

    def __init__(self, typeahead: TypeAhead, what: str, since: float) -> None:
        self._typeahead = typeahead
        self.what = what
        self.since = since
        self.released = False

    def release(self) -> None:
        """The keys typed ahead go on, to where the step left the focus."""
        if not self.released:
            self.released = True
            self._typeahead._released(self)

    def drop(self) -> int:
        """The step failed: the keys typed for what it would have opened must not act on what is
        shown instead (a `q` meant for a shell would quit the dashboard). Returns how many keys
        were dropped."""
        dropped = self._typeahead._drop()
        self.release()
        return dropped


class TypeAhead:
    """The app's keys in order, each let through once the app has settled after the last one.

    The app asks `keeps(event)` of every event it gets: True means the event is a key or a
    paste from the terminal that is kept, and comes back through the app's queue when its turn
    comes; False means handle it now.
    """

    def __init__(self, app: App) -> None:
        self._app = app
        self._kept: deque[Typed] = deque()
        self._holds: list[Hold] = []
        self._returning: Typed | None = None  # the kept key handed back to the app's queue
        self._feeder: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    @property
    def waiting(self) -> int:
        """Keys kept, waiting for their turn."""
        return len(self._kept)

    def keeps(self, event: events.Event) -> bool:
        return (
            isinstance(event, (events.Key, events.Paste))
            and not event.is_forwarded
            and not self._admit(event)
        )

    def _admit(self, event: Typed) -> bool:
        if event is self._returning:
            self._returning = None
            return True
        if isinstance(event, events.Key) and event.key in NEVER_HELD:
            return True
        if not self._kept and self._feeder is None and not self._holds and self._quiet():
            return True
        self._kept.append(event)
        if self._feeder is None:
            self._feeder = asyncio.create_task(self._feed(), name="typed keys")
        return False

    def hold(self, what: str) -> Hold:
        """Keep the keys that come after the one being handled until the hold is released."""
        held = Hold(self, what, asyncio.get_running_loop().time())
        self._holds.append(held)
        return held

    def close(self) -> None:
        if self._feeder is not None:
            self._feeder.cancel()
            self._feeder = None

    # ---- inside ---------------------------------------------------------------------------

    def _released(self, held: Hold) -> None:
        if held in self._holds:
            self._holds.remove(held)
        self._changed.set()

    def _drop(self) -> int:
        dropped = len(self._kept)
        self._kept.clear()
        return dropped

    async def _feed(self) -> None:
        try:
            while self._kept:
                await self._settle()
                if not self._kept:
                    break
                self._returning = self._kept.popleft()
                self._app.post_message(self._returning)
        finally:
            self._feeder = None

    async def _settle(self) -> None:
        """Until the app has settled after the last key: no hold, and quiet twice running."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_LIMIT
        quiet = looks = 0
        while quiet < 2:
            if self._holds:
                quiet = 0
                await self._unheld()
                deadline = loop.time() + SETTLE_LIMIT
                continue
            if loop.time() >= deadline:
                return
            # A turn for whatever is ready to run first, then short naps while the app is busy.
            await asyncio.sleep(LOOK_AGAIN if looks else 0)
            looks += 1
            quiet = quiet + 1 if self._quiet() else 0

    async def _unheld(self) -> None:
        """Until no hold is left, or the oldest has been held too long: then its keys go."""
        oldest = self._holds[0]
        left = oldest.since + HOLD_LIMIT - asyncio.get_running_loop().time()
        self._changed.clear()
        try:
            await asyncio.wait_for(self._changed.wait(), max(left, 0))
        except TimeoutError:
            dropped = oldest.drop()
            self._app.notify(
                f"{oldest.what} took over {HOLD_LIMIT:.0f} s: the {dropped} key(s) "
                "typed after it were dropped",
                severity="warning",
            )

    def _quiet(self) -> bool:
        """Nothing waiting in the app, the screen shown or its widgets but drawing: no message,
        no callback for after the app's or the screen's current message or their next refresh.
        (A widget's own callbacks for after its message are its drawing.)"""
        app = self._app
        try:
            screen = app.screen
        except ScreenStackError:  # no screen yet, or none any more
            return True
        if screen._callbacks:
            return False
        if app._next_callbacks or screen._next_callbacks:
            return False
        return not any(_busy(pump) for pump in (app, screen, *screen.walk_children()))


# What only draws: it never moves the focus or opens anything, and a terminal busy with output
# posts it all the time (with these counted, every key typed into a flood would wait).
_DRAWING = (messages.Prompt, messages.Update, messages.Layout, messages.UpdateScroll)


def _busy(pump: MessagePump) -> bool:
    # Textual keeps no count of the messages being handled (merged messages are never marked
    # done), so this looks at what waits: a handler still running shows in the messages it posts.
    waiting: deque[Message | None] = pump._message_queue.values
    return any(not isinstance(message, _DRAWING) for message in waiting)
