"""The `podman system service` the server runs when Podman is its engine, and keeps running.

Podman has no daemon of its own: its API service is a process the server starts. The
containers do not depend on it (each has its conmon), but every call and every exec stream
goes through it, so when it dies the server starts it again: at once, then with a backoff
that doubles up to MAX_BACKOFF while it fails, for as long as the server runs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Awaitable, Callable

from sbtui.server.engine_health import EngineHealth
from sbtui.server.runtime.base import EngineError, EngineUnavailable
from sbtui.server.runtime.hijack import answers

log = logging.getLogger("sbtui.server")

FIRST_BACKOFF = 0.1  # seconds before the first restart attempt; doubled after each failure
MAX_BACKOFF = 5.0
ANSWER_TIMEOUT = 30.0  # a started service that does not answer within this is a failed attempt

# Podman on hybrid cgroup hosts needs runc and cgroupfs (crun refuses them); the server
# passes this file through CONTAINERS_CONF_OVERRIDE so the host's own config is untouched.
PODMAN_CONF = """\
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""


def _registries_conf(insecure: list[str]) -> str:
    """Short names resolve on Docker Hub, as with Docker; `insecure` registries speak HTTP.

    (Docker itself already trusts plain-HTTP registries on loopback addresses.)"""
    lines = ['unqualified-search-registries = ["docker.io"]', 'short-name-mode = "permissive"']
    for location in insecure:
        lines += ["", "[[registry]]", f'location = "{location}"', "insecure = true"]
    return "\n".join(lines) + "\n"


def backoff(attempt: int) -> float:
    """Seconds to wait before restart attempt `attempt` (1-based): 0.1, 0.2, 0.4, ... 5 at most."""
    return min(FIRST_BACKOFF * 2 ** (attempt - 1), MAX_BACKOFF)


def _how_it_ended(code: int | None) -> str:
    if code is None:
        return "it exited"  # started by an earlier server: not our child, its status is not ours
    if code < 0:
        return f"it was killed by {signal.Signals(-code).name}"
    return f"it exited with code {code}"


class PodmanService:
    def __init__(self, podman: str, state_dir: Path, insecure_registries: list[str]) -> None:
        self.state_dir = state_dir
        self.socket = state_dir / "podman.sock"
        self.url = f"unix://{self.socket}"
        self.pid = 0
        self._podman = podman
        self._insecure_registries = insecure_registries
        self._process: subprocess.Popen | None = None
        self._supervisor: asyncio.Task | None = None

    @property
    def log_path(self) -> Path:
        return self.state_dir / "podman.log"

    async def start(self, pid_of: Callable[[str], int | None]) -> None:
        """Start the service, or take over the one an earlier server left answering;
        `pid_of(url)` finds the pid of the process serving a socket."""
        if await answers(self.url):
            self.pid = pid_of(self.url) or 0
            return
        await self._launch()

    async def _launch(self) -> None:
        conf = self.state_dir / "podman-containers.conf"
        conf.write_text(PODMAN_CONF)
        registries = self.state_dir / "podman-registries.conf"
        registries.write_text(_registries_conf(self._insecure_registries))
        self.socket.unlink(missing_ok=True)
        env = dict(os.environ, CONTAINERS_CONF_OVERRIDE=str(conf), CONTAINERS_REGISTRIES_CONF=str(registries))
        with open(self.log_path, "ab") as log_file:
            process = subprocess.Popen(
                [self._podman, "system", "service", "--time=0", self.url],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                env=env,
                start_new_session=True,
                # conmon writes a file named `oom` into its working directory when the OOM
                # killer strikes in a container: not into the one the server was started from.
                cwd=self.state_dir,
            )
        self._process, self.pid = process, process.pid
        (self.state_dir / "podman.pid").write_text(str(process.pid))
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while not await answers(self.url):
            if process.poll() is not None:
                raise EngineUnavailable(
                    f"podman system service exited with code {process.returncode}; see {self.log_path}"
                )
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise EngineUnavailable(f"podman system service did not answer within {ANSWER_TIMEOUT:.0f} s")
            await asyncio.sleep(0.05)

    def supervise(self, health: EngineHealth, restarted: Callable[[], Awaitable[None]]) -> None:
        """Restart the service whenever it dies, keeping `health` up to date; `restarted` runs
        once a new service answers, before the engine counts as ok again."""
        health.service_pid = self.pid
        self._supervisor = asyncio.create_task(self._supervise(health, restarted), name="podman-service")

    async def _supervise(self, health: EngineHealth, restarted: Callable[[], Awaitable[None]]) -> None:
        while True:
            error = await self._ended()
            log.warning("the Podman API service (pid %d) died: %s; restarting it", self.pid, error)
            lost = time.monotonic()
            attempt = 0
            while True:
                attempt += 1
                health.restarting(attempt, error)
                await asyncio.sleep(backoff(attempt))
                try:
                    await self._launch()
                    break
                except (EngineError, OSError) as err:
                    error = f"restart attempt {attempt} failed: {err}"
                    log.warning("%s", error)
            try:
                await restarted()
            except EngineError as err:
                log.warning("after restarting the Podman API service: %s", err)
            health.restarted(self.pid)
            log.info(
                "the Podman API service answers again (pid %d), %.1f s after it died, at attempt %d",
                self.pid,
                time.monotonic() - lost,
                attempt,
            )

    async def _ended(self) -> str:
        """Wait for the service process to end; say how it ended."""
        if not self.pid:
            # Left by an earlier server on a socket whose serving pid can't be read: the service
            # is found gone when it stops answering.
            while await answers(self.url):
                await asyncio.sleep(1)
            return "it stopped answering"
        try:
            fd = os.pidfd_open(self.pid)
        except ProcessLookupError:
            return self._reap()
        loop = asyncio.get_running_loop()
        ended = loop.create_future()

        def readable() -> None:
            if not ended.done():
                ended.set_result(None)

        loop.add_reader(fd, readable)
        try:
            await ended
        finally:
            loop.remove_reader(fd)
            os.close(fd)
        return self._reap()

    def _reap(self) -> str:
        if self._process is not None and self._process.pid == self.pid:
            return _how_it_ended(self._process.wait())
        return _how_it_ended(None)

    async def stop(self) -> None:
        """Stop supervising, then stop the service if this server started it."""
        if self._supervisor is not None:
            self._supervisor.cancel()
            try:
                await self._supervisor
            except asyncio.CancelledError:
                pass
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, 10)
            except subprocess.TimeoutExpired:
                process.kill()
