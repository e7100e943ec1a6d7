"""An exec over the Engine API, as both engines serve it: its output and input on a hijacked
connection of its own (hijack.py), inspected and resized through the API, and signalled on
this host (host_processes.py), since the API has no call for that.

Where the engines differ:
- Podman ignores the console size given at exec start, so a PTY is resized again after start;
- when an exec's program can't be started, Docker writes its error to stdout with exit code
  126 and Podman to stderr with 127: both become stderr and the shell's 127 or 126.
"""

from __future__ import annotations

import asyncio
import time

import aiodocker
from aiodocker.exceptions import DockerError

from sbtui.server.runtime import host_processes
from sbtui.server.runtime.base import EngineError, ExecSpec
from sbtui.server.runtime.engine_api import API_VERSION, engine_error
from sbtui.server.runtime.hijack import HijackedStream

_START_FAILED = b"OCI runtime exec failed"


async def start(docker: aiodocker.Docker, url: str, container_id: str, spec: ExecSpec) -> EngineExec:
    """Start `spec` in the container through the engine at `url` (`docker` its API client)."""
    body = {
        "AttachStdin": spec.stdin,
        "AttachStdout": spec.stdout,
        "AttachStderr": spec.stderr,
        "Tty": spec.tty,
        "Cmd": spec.command,
        "Env": [f"{k}={v}" for k, v in spec.env.items()],
        "WorkingDir": spec.workdir,
    }
    if spec.tty:
        body["ConsoleSize"] = [spec.rows, spec.cols]
    try:
        created = await docker._query_json(f"containers/{container_id}/exec", method="POST", data=body)
    except DockerError as err:
        raise engine_error(err, "starting the command") from None
    exec_id = created["Id"]
    start: dict[str, object] = {"Detach": False, "Tty": spec.tty}
    if spec.tty:
        start["ConsoleSize"] = [spec.rows, spec.cols]
    stream = await HijackedStream.start(url, f"/{API_VERSION}/exec/{exec_id}/start", start, spec.tty)
    session = EngineExec(docker, exec_id, stream)
    if spec.tty:
        await session.resize(spec.rows, spec.cols)
    return session


class EngineExec:
    through_engine = True

    def __init__(self, docker: aiodocker.Docker, exec_id: str, stream: HijackedStream) -> None:
        self.exec_id = exec_id
        self._docker = docker
        self._stream = stream
        self._pid = 0
        self._first_read = True
        self._start_failed = 0

    async def read(self) -> tuple[int, bytes] | None:
        chunk = await self._stream.read()
        if chunk is not None and self._first_read:
            self._first_read = False
            if chunk[1].startswith(_START_FAILED):
                # Shell convention: 127 when the program is missing, 126 when it can't run.
                self._start_failed = 127 if b"not found" in chunk[1] else 126
                return 2, chunk[1]
        return chunk

    async def write(self, data: bytes) -> None:
        await self._stream.write(data)

    async def close_stdin(self) -> None:
        await self._stream.close_stdin()

    async def resize(self, rows: int, cols: int) -> None:
        try:
            await self._docker.containers.exec(self.exec_id).resize(h=rows, w=cols)
        except DockerError as err:
            raise engine_error(err, "resizing the terminal") from None

    async def _inspect(self) -> dict:
        try:
            return await self._docker.containers.exec(self.exec_id).inspect()
        except DockerError as err:
            raise engine_error(err, "inspecting the command") from None

    async def signal(self, signum: int) -> None:
        """Signal the process and everything it started.

        The Engine API has no call to signal an exec, so the host pid from exec inspect is
        used; this needs the engine on this host, which is how sbtui runs it.
        """
        # Docker fills in the pid a moment after the stream starts.
        deadline = time.monotonic() + 5
        while not self._pid and time.monotonic() < deadline:
            info = await self._inspect()
            self._pid = int(info.get("Pid") or 0)
            if not self._pid:
                if not info.get("Running", True) and info.get("ExitCode") is not None:
                    return
                await asyncio.sleep(0.01)
        if self._pid:
            host_processes.signal_tree(self._pid, signum)

    async def exit_code(self) -> int:
        # The stream can end a moment before the engine records the exit.
        deadline = time.monotonic() + 10
        delay = 0.002
        while True:
            info = await self._inspect()
            if not info.get("Running"):
                code = info.get("ExitCode")
                if self._start_failed:
                    return self._start_failed
                return int(code) if code is not None else -1
            if time.monotonic() > deadline:
                # Its output ended, not the command: the stream broke. No code to tell.
                raise EngineError("the engine still runs the command after its output ended")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)

    async def close(self) -> None:
        await self._stream.close()
