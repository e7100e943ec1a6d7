"""The disk limit: what a sandbox writes outside its volumes, measured on the host and ended
with reason `disk limit` when it passes the operator's limit.

Engines cap a container's writable layer only on overlay over xfs with project quotas (where
the runtime asks them to as well); everywhere else the server watches. A sandbox's writes land
in the upper directory of its overlay layer and in the few files the engine mounts writable
into it (/etc/hosts and the like, which no engine quota covers), all of it on this host; on
swarm, on the node holding the task, whose agent measures it the same way (Runtime.disk_used).

A check adds up the blocks those take on disk (a file with several links once). It runs in a
thread, one sandbox at a time, and the next one comes when the sandbox could have reached its
limit writing at WRITE_RATE (at least MIN_INTERVAL and at most MAX_INTERVAL later): with the
default 10 GiB ahead, every 5 s; near the limit, every 50 ms. A sandbox whose layer takes long
to walk is looked at less often (WALK_SHARE). Measured by benchmarks/disk_watch.py (2 cores,
ext4, both engines): 10-12 ms of server CPU per sandbox per minute for a fresh busybox layer,
about 45 ms with 1,000 files in it, 0.3 s with 10,000, 2.9 s with 100,000 (a measure costs
about what `du -s` does).
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import time
from typing import Callable, Iterable

from sbtui.server.background import Loop
from sbtui.server.events import EventBus
from sbtui.server.runtime.base import EngineError, Runtime, WritablePaths
from sbtui.server.store import SandboxRecord

log = logging.getLogger("sbtui.server")

WRITE_RATE = 2 << 30  # bytes per second a sandbox is taken to write at most (a fast local disk)
MIN_INTERVAL = 0.05
MAX_INTERVAL = 10.0
WALK_SHARE = 10  # checks of one sandbox are this many walks apart: a tenth of a core at most,
# while a walk takes under MAX_INTERVAL / WALK_SHARE
BLOCK = 4096  # every file counts at least one block, so the limit bounds the files made too
MAX_DEPTH = 256  # directories deeper than this count as over the limit (see TooDeep)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class TooDeep(Exception):
    """A layer nested deeper than MAX_DEPTH: walking it would take one open file per level."""


def usage(paths: WritablePaths) -> int:
    """Bytes the writes take on the host's disk."""
    total = 0
    for path in paths.files:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        if stat.S_ISREG(st.st_mode):
            total += _charge(st)
    if paths.layer:
        total += _walk(paths.layer)
    return total


def _charge(st: os.stat_result) -> int:
    return max(st.st_blocks * 512, BLOCK)


def _walk(top: str) -> int:
    """The blocks under `top`, never leaving it: each directory is opened by its name in its
    parent, never through a symlink, and only on `top`'s file system, so a sandbox that swaps
    a directory for a symlink while it is walked can't send the walk anywhere else."""
    root = os.open(top, _DIR_FLAGS)
    device = os.fstat(root).st_dev
    linked: set[int] = set()
    total, subdirs = _read(root, device, linked)
    stack = [(root, subdirs)]  # the open directories from the top down, each with its subdirectories to do
    try:
        while stack:
            fd, pending = stack[-1]
            if not pending:
                os.close(stack.pop()[0])
                continue
            try:
                child = os.open(pending.pop(), _DIR_FLAGS, dir_fd=fd)
            except OSError:
                continue  # removed or replaced since it was listed
            if len(stack) >= MAX_DEPTH:
                os.close(child)
                raise TooDeep(f"directories nested more than {MAX_DEPTH} deep")
            size, subdirs = _read(child, device, linked)
            total += size
            stack.append((child, subdirs))
    finally:
        for fd, _ in stack:
            os.close(fd)
    return total


def _read(fd: int, device: int, linked: set[int]) -> tuple[int, list[str]]:
    """The blocks of a directory's entries, and the names of its subdirectories."""
    total, subdirs = 0, []
    with os.scandir(fd) as entries:
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if st.st_dev != device:
                continue
            if stat.S_ISDIR(st.st_mode):
                subdirs.append(entry.name)
            elif st.st_nlink > 1:
                if st.st_ino in linked:
                    continue
                linked.add(st.st_ino)
            total += _charge(st)
    return total, subdirs


def interval(headroom: int, walk_seconds: float) -> float:
    """Seconds until the next check of a sandbox `headroom` bytes below its limit."""
    return min(MAX_INTERVAL, max(MIN_INTERVAL, headroom / WRITE_RATE, WALK_SHARE * walk_seconds))


class DiskWatcher:
    """Checks every running sandbox in turn; `over(record, used)` ends one past `limit` bytes.

    It follows the sandboxes the server has running (`running()`), so sandboxes re-adopted after
    a restart are watched as new ones are; `events` wakes it when one starts."""

    def __init__(
        self,
        runtime: Runtime,
        limit: int,
        running: Callable[[], Iterable[SandboxRecord]],
        over: Callable[[SandboxRecord, int], None],
        events: EventBus,
    ) -> None:
        self._runtime = runtime
        self._limit = limit
        self._running = running
        self._over = over
        self._events = events
        self._due: dict[str, float] = {}  # sandbox id -> monotonic time of its next check
        self._paths: dict[str, WritablePaths] = {}  # by container id
        self._task = Loop(self._loop, "disk-limit")

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()

    async def _loop(self) -> None:
        queue = self._events.subscribe()
        try:
            while True:
                running = {r.sandbox_id: r for r in self._running()}
                for gone in self._due.keys() - running.keys():
                    del self._due[gone]
                live = {r.container_id for r in running.values()}
                for gone in self._paths.keys() - live:
                    del self._paths[gone]
                now = time.monotonic()
                for sandbox_id, record in running.items():
                    if self._due.setdefault(sandbox_id, now) <= now:
                        try:
                            self._due[sandbox_id] = await self._check(record)
                        except Exception as err:  # the engine's connection broke, say
                            log.warning(
                                "checking the disk use of sandbox %s failed: %s", record.sandbox_id, err
                            )
                            self._due[sandbox_id] = time.monotonic() + MAX_INTERVAL
                wake_at = min(self._due.values(), default=now + MAX_INTERVAL)
                try:
                    # Any sandbox event may be a start: look again then.
                    await asyncio.wait_for(queue.get(), max(0.0, wake_at - time.monotonic()))
                except asyncio.TimeoutError:
                    pass
                while not queue.empty():
                    queue.get_nowait()
        finally:
            self._events.unsubscribe(queue)

    async def _check(self, record: SandboxRecord) -> float:
        """Measure one sandbox, end it if it is past the limit; when to look again."""
        if self._runtime.writes_elsewhere:
            return await self._check_elsewhere(record)
        paths = self._paths.get(record.container_id)
        if paths is None:
            try:
                paths = await self._runtime.writable_paths(record.container_id)
            except EngineError as err:
                log.warning("could not find where sandbox %s writes: %s", record.sandbox_id, err)
                return time.monotonic() + MAX_INTERVAL
            if paths is None:
                return time.monotonic() + MAX_INTERVAL  # gone: its exit is being handled
            if not paths.layer:
                log.warning(
                    "the engine shows no writable layer of sandbox %s: only the files it mounts "
                    "writable count against its disk limit",
                    record.sandbox_id,
                )
            self._paths[record.container_id] = paths
        started = time.monotonic()
        try:
            used = await asyncio.to_thread(usage, paths)
        except TooDeep as err:
            log.info("sandbox %s: %s; ending it for its disk limit", record.sandbox_id, err)
            self._over(record, self._limit + 1)
            return time.monotonic() + MAX_INTERVAL
        except OSError as err:
            # Removed meanwhile, or not on this host (an engine elsewhere).
            log.warning("could not measure the writes of sandbox %s: %s", record.sandbox_id, err)
            return time.monotonic() + MAX_INTERVAL
        return self._checked(record, used, time.monotonic() - started)

    async def _check_elsewhere(self, record: SandboxRecord) -> float:
        """Measured on the machine that holds the sandbox (a swarm node's agent)."""
        started = time.monotonic()
        try:
            used = await self._runtime.disk_used(record.container_id)
        except TooDeep as err:
            log.info("sandbox %s: %s; ending it for its disk limit", record.sandbox_id, err)
            self._over(record, self._limit + 1)
            return time.monotonic() + MAX_INTERVAL
        if used is None:
            return time.monotonic() + MAX_INTERVAL  # gone: its exit is being handled
        return self._checked(record, used, time.monotonic() - started)

    def _checked(self, record: SandboxRecord, used: int, walk: float) -> float:
        """End the sandbox if `used` is past the limit; when to look again."""
        if used > self._limit:
            self._over(record, used)
        return time.monotonic() + interval(self._limit - used, walk)
