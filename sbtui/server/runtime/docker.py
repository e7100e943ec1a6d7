"""The Docker Engine API runtime (aiodocker), serving Docker and Podman alike.

Where the two engines differ, the difference is handled here and nowhere else:
- Podman reports a container's exit as the event `died`, Docker as `die`;
- Podman applies its own default rlimits, which runc cannot set without CAP_SYS_RESOURCE,
  so containers get explicit ulimits no higher than the engine's own;
- Podman ignores the console size given at exec start, so a PTY is resized again after start;
- when an exec's program can't be started, Docker writes its error to stdout with exit code
  126 and Podman to stderr with 127: both become stderr and the shell's 127 or 126.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from datetime import datetime
from typing import AsyncIterator, Callable

import aiohttp

import aiodocker
from aiodocker.exceptions import DockerError

from sbtui.server.runtime.base import (
    ContainerExit,
    ContainerSpec,
    ContainerState,
    EngineError,
    EngineNotFound,
    ExecSpec,
    ImageInfo,
)
from sbtui.server.runtime.hijack import HijackedStream

API_VERSION = "v1.41"  # served by Docker 20.10+ and by Podman 4's compat API
_EXIT_ACTIONS = {"die", "died"}
_START_FAILED = b"OCI runtime exec failed"


_STAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$")


def _timestamp(value: str | None) -> float:
    """Engine timestamps carry nanoseconds, which datetime cannot parse; 0 for 'never'."""
    match = _STAMP.match(value or "")
    if not match or value.startswith("0001-"):
        return 0.0
    whole, frac, zone = match.groups()
    zone = "+00:00" if zone in (None, "Z") else zone
    return datetime.fromisoformat(whole + zone).timestamp() + float(frac or 0)


def _missing(err: DockerError) -> bool:
    # Podman answers some lookups of a missing object with 500 "no such ...", not 404.
    return err.status == 404 or "no such" in str(err.message).lower()


def _engine_error(err: DockerError, what: str) -> EngineError:
    message = err.message if isinstance(err.message, str) else str(err.message)
    cls = EngineNotFound if _missing(err) else EngineError
    return cls(f"{what}: {message}", err.status)


class DockerRuntime:
    def __init__(self, url: str, name: str, ulimits: list[dict] | None = None) -> None:
        self.url = url
        self.name = name  # "docker" or "podman"
        self._ulimits = ulimits or []
        self._docker = aiodocker.Docker(url=url, api_version=API_VERSION)

    async def version(self) -> str:
        try:
            info = await self._docker.version()
        except DockerError as err:
            raise _engine_error(err, "engine version") from None
        return str(info.get("Version", ""))

    # ---- images ---------------------------------------------------------------

    async def inspect_image(self, ref: str) -> ImageInfo | None:
        try:
            data = await self._docker.images.inspect(ref)
        except DockerError as err:
            if _missing(err):
                return None
            raise _engine_error(err, f"image {ref!r}") from None
        return ImageInfo(
            engine_id=data["Id"],
            tag=ref,
            created_at=_timestamp(data.get("Created")),
            size_bytes=int(data.get("Size") or 0),
            labels=(data.get("Config") or {}).get("Labels") or {},
        )

    async def resolve_image(self, ref: str) -> ImageInfo:
        found = await self.inspect_image(ref)
        if found is not None:
            return found
        try:
            await self._docker.images.pull(ref)
        except DockerError as err:
            raise _engine_error(err, f"pulling image {ref!r}") from None
        found = await self.inspect_image(ref)
        if found is None:
            raise EngineNotFound(f"image {ref!r} is still missing after a pull")
        return found

    async def import_image(self, tar: bytes, repo: str, tag: str, labels: dict[str, str]) -> None:
        # One LABEL instruction for all labels: aiodocker can't repeat a query parameter.
        params = {"fromSrc": "-", "repo": repo, "tag": tag}
        if labels:
            params["changes"] = "LABEL " + " ".join(f"{k}={v}" for k, v in labels.items())
        try:
            await self._docker._query_json(
                "images/create",
                method="POST",
                params=params,
                data=tar,
                headers={"Content-Type": "application/x-tar"},
            )
        except DockerError as err:
            raise _engine_error(err, f"importing image {repo}:{tag}") from None

    # ---- containers -----------------------------------------------------------

    async def create_and_start(self, spec: ContainerSpec) -> str:
        host: dict = {"Init": False}
        if spec.cpu:
            host["CpuShares"] = max(2, int(spec.cpu * 1024))
        if spec.cpu_limit:
            host["NanoCpus"] = int(spec.cpu_limit * 1e9)
        if spec.memory_mib:
            host["MemoryReservation"] = spec.memory_mib * 1024 * 1024
        if spec.memory_limit_mib:
            host["Memory"] = spec.memory_limit_mib * 1024 * 1024
        if self._ulimits:
            host["Ulimits"] = self._ulimits
        if spec.network_disabled:
            host["NetworkMode"] = "none"
        config = {
            "Image": spec.image,
            "Cmd": spec.command,
            "Env": [f"{k}={v}" for k, v in spec.env.items()],
            "Labels": spec.labels,
            "WorkingDir": spec.workdir,
            "Tty": spec.tty,
            "OpenStdin": spec.tty,
            "HostConfig": host,
        }
        try:
            container = await self._docker.containers.create(config, name=spec.name)
        except DockerError as err:
            raise _engine_error(err, "creating the container") from None
        try:
            await container.start()
        except DockerError as err:
            await self.remove(container.id)
            raise _engine_error(err, "starting the container") from None
        return container.id

    def _state(self, data: dict) -> ContainerState:
        state = data.get("State") or {}
        running = bool(state.get("Running"))
        exit_ = None
        if not running and state.get("Status") in ("exited", "dead", "stopped"):
            exit_ = ContainerExit(
                exit_code=int(state.get("ExitCode") or 0),
                oom_killed=bool(state.get("OOMKilled")),
                finished_at=_timestamp(state.get("FinishedAt")) or time.time(),
            )
        return ContainerState(
            container_id=data["Id"],
            labels=(data.get("Config") or {}).get("Labels") or {},
            running=running,
            started_at=_timestamp(state.get("StartedAt")),
            exit=exit_,
        )

    async def inspect(self, container_id: str) -> ContainerState | None:
        try:
            data = await self._docker.containers.container(container_id).show()
        except DockerError as err:
            if _missing(err):
                return None
            raise _engine_error(err, f"inspecting container {container_id[:12]}") from None
        return self._state(data)

    async def kill(self, container_id: str) -> None:
        try:
            await self._docker.containers.container(container_id).kill(signal="SIGKILL")
        except DockerError as err:
            # 409/500 "not running" means it is already gone: that is what we wanted.
            if _missing(err) or "not running" in str(err.message):
                return
            raise _engine_error(err, f"killing container {container_id[:12]}") from None

    async def remove(self, container_id: str) -> None:
        try:
            await self._docker.containers.container(container_id).delete(force=True, v=True)
        except DockerError as err:
            if _missing(err):
                return
            raise _engine_error(err, f"removing container {container_id[:12]}") from None

    async def list_managed(self, label: str) -> list[ContainerState]:
        try:
            found = await self._docker.containers.list(
                all=True, filters=json.dumps({"label": [label]})
            )
        except DockerError as err:
            raise _engine_error(err, "listing containers") from None
        states = []
        for item in found:
            state = await self.inspect(item.id)
            if state is not None:
                states.append(state)
        return states

    async def exits(self, label: str, connected: Callable[[], None] | None = None) -> AsyncIterator[str]:
        params = {"filters": json.dumps({"label": [label], "type": ["container"]})}
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None, sock_connect=10)
        try:
            async with self._docker._query("events", params=params, timeout=timeout) as response:
                if connected is not None:
                    connected()  # from here on no exit can be missed
                async for line in response.content:
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    action = event.get("Action") or event.get("status") or ""
                    if action in _EXIT_ACTIONS:
                        yield event.get("id") or (event.get("Actor") or {}).get("ID", "")
        except DockerError as err:
            raise _engine_error(err, "following engine events") from None
        except aiohttp.ClientError as err:
            raise EngineError(f"engine event stream broke: {err}") from None

    # ---- exec -----------------------------------------------------------------

    async def exec(self, container_id: str, spec: ExecSpec) -> "DockerExec":
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
            created = await self._docker._query_json(
                f"containers/{container_id}/exec", method="POST", data=body
            )
        except DockerError as err:
            raise _engine_error(err, "starting the command") from None
        exec_id = created["Id"]
        start = {"Detach": False, "Tty": spec.tty}
        if spec.tty:
            start["ConsoleSize"] = [spec.rows, spec.cols]
        stream = await HijackedStream.start(
            self.url, f"/{API_VERSION}/exec/{exec_id}/start", start, spec.tty
        )
        session = DockerExec(self, exec_id, stream)
        if spec.tty:
            await session.resize(spec.rows, spec.cols)
        return session

    async def exec_inspect(self, exec_id: str) -> dict:
        try:
            return await self._docker.containers.exec(exec_id).inspect()
        except DockerError as err:
            raise _engine_error(err, "inspecting the command") from None

    async def exec_resize(self, exec_id: str, rows: int, cols: int) -> None:
        try:
            await self._docker.containers.exec(exec_id).resize(h=rows, w=cols)
        except DockerError as err:
            raise _engine_error(err, "resizing the terminal") from None

    async def close(self) -> None:
        await self._docker.close()


class DockerExec:
    def __init__(self, runtime: DockerRuntime, exec_id: str, stream: HijackedStream) -> None:
        self.exec_id = exec_id
        self._runtime = runtime
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
        await self._runtime.exec_resize(self.exec_id, rows, cols)

    async def signal(self, signum: int) -> None:
        """Signal the process and everything it started.

        The Engine API has no call to signal an exec, so the host pid from exec inspect is
        used; this needs the engine on this host, which is how sbtui runs it.
        """
        # Docker fills in the pid a moment after the stream starts.
        deadline = time.monotonic() + 5
        while not self._pid and time.monotonic() < deadline:
            info = await self._runtime.exec_inspect(self.exec_id)
            self._pid = int(info.get("Pid") or 0)
            if not self._pid:
                if not info.get("Running", True) and info.get("ExitCode") is not None:
                    return
                await asyncio.sleep(0.01)
        if self._pid:
            for pid in [self._pid, *_descendants(self._pid)]:
                try:
                    os.kill(pid, signum)
                except (ProcessLookupError, PermissionError):
                    pass

    async def exit_code(self) -> int:
        # The stream can end a moment before the engine records the exit.
        deadline = time.monotonic() + 10
        delay = 0.002
        while True:
            info = await self._runtime.exec_inspect(self.exec_id)
            if not info.get("Running") or time.monotonic() > deadline:
                code = info.get("ExitCode")
                if self._start_failed:
                    return self._start_failed
                return int(code) if code is not None else -1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)

    async def close(self) -> None:
        await self._stream.close()


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found

