"""Finding a container engine, and starting Podman's API service when it is the one we have.

Order: an explicit URL (argument or DOCKER_HOST), then Docker's socket, then Podman, whose
`podman system service` the server starts itself and stops when it exits.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import socket
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sbtui.server.runtime.base import EngineUnavailable
from sbtui.server.runtime.docker import DockerRuntime
from sbtui.server.runtime.hijack import open_connection

DOCKER_SOCKET = "/var/run/docker.sock"
INSTALL_HINT = (
    "install Podman (apt-get install podman runc) or Docker (apt-get install docker.io and "
    "start dockerd), or point DOCKER_HOST at a running engine"
)

# Podman on hybrid cgroup hosts needs runc and cgroupfs (crun refuses them); the server
# passes this file through CONTAINERS_CONF_OVERRIDE so the host's own config is untouched.
PODMAN_CONF = """\
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""


@dataclass
class Engine:
    runtime: DockerRuntime
    process: subprocess.Popen | None = None  # the Podman service we started, if any

    async def close(self) -> None:
        await self.runtime.close()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                await asyncio.to_thread(self.process.wait, 10)
            except subprocess.TimeoutExpired:
                self.process.kill()


async def _answers(url: str) -> bool:
    try:
        reader, writer = await asyncio.wait_for(open_connection(url), 2)
    except (OSError, asyncio.TimeoutError, Exception):
        return False
    try:
        writer.write(b"GET /_ping HTTP/1.1\r\nHost: engine\r\nConnection: close\r\n\r\n")
        line = await asyncio.wait_for(reader.readline(), 5)
        return b" 200 " in line
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
        return False
    finally:
        writer.close()


async def _kind(url: str) -> str:
    probe = DockerRuntime(url, "docker")
    try:
        info = await probe._docker.version()
    finally:
        await probe.close()
    names = " ".join(c.get("Name", "") for c in info.get("Components") or [])
    return "podman" if "podman" in names.lower() else "docker"


def _hard_limits(pid: int) -> dict[str, int]:
    """The hard nofile and nproc limits of process `pid` (those it can read and that are finite)."""
    found = {}
    try:
        for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
            for name, label in (("nofile", "Max open files"), ("nproc", "Max processes")):
                if line.startswith(label):
                    hard = line[len(label):].split()[1]
                    if hard.isdigit():
                        found[name] = int(hard)
    except OSError:
        pass
    return found


def _ulimits_of(pid: int | None) -> list[dict]:
    """Explicit nofile/nproc limits no higher than the engine process may grant."""
    limits = {
        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[1],
        "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[1],
    }
    if pid:
        for name, hard in _hard_limits(pid).items():
            limits[name] = min(limits[name], hard)
    cap = 1 << 20
    return [
        {"Name": name, "Soft": min(value, cap), "Hard": min(value, cap)}
        for name, value in limits.items()
        if value != resource.RLIM_INFINITY
    ]


def _peer_pid(url: str) -> int | None:
    """The pid of the process serving a Unix socket (the engine), when it runs on this host."""
    if not url.startswith("unix://"):
        return None
    creds = struct.Struct("3i")  # struct ucred: pid, uid, gid
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(url[len("unix://"):])
            pid = creds.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, creds.size))[0]
    except OSError:
        return None
    return pid or None


def _open_files_of(pid: int | None) -> int | None:
    """The most open files the engine process `pid` can give its containers' processes."""
    return _hard_limits(pid).get("nofile") if pid else None


def _registries_conf(insecure: list[str]) -> str:
    """Short names resolve on Docker Hub, as with Docker; `insecure` registries speak HTTP.

    (Docker itself already trusts plain-HTTP registries on loopback addresses.)"""
    lines = ['unqualified-search-registries = ["docker.io"]', 'short-name-mode = "permissive"']
    for location in insecure:
        lines += ["", "[[registry]]", f'location = "{location}"', "insecure = true"]
    return "\n".join(lines) + "\n"


async def _start_podman(state_dir: Path, insecure_registries: list[str]) -> Engine:
    podman = shutil.which("podman")
    if podman is None:
        raise EngineUnavailable(f"no container engine found: {INSTALL_HINT}")
    socket = state_dir / "podman.sock"
    url = f"unix://{socket}"
    pid_file = state_dir / "podman.pid"
    if await _answers(url):
        pid = int(pid_file.read_text()) if pid_file.exists() else None
        return Engine(DockerRuntime(url, "podman", _ulimits_of(pid), state_dir))
    conf = state_dir / "podman-containers.conf"
    conf.write_text(PODMAN_CONF)
    socket.unlink(missing_ok=True)
    log = open(state_dir / "podman.log", "ab")
    registries = state_dir / "podman-registries.conf"
    registries.write_text(_registries_conf(insecure_registries))
    env = dict(os.environ, CONTAINERS_CONF_OVERRIDE=str(conf), CONTAINERS_REGISTRIES_CONF=str(registries))
    process = subprocess.Popen(
        [podman, "system", "service", "--time=0", url],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True,
    )
    log.close()
    pid_file.write_text(str(process.pid))
    deadline = asyncio.get_running_loop().time() + 30
    while not await _answers(url):
        if process.poll() is not None:
            raise EngineUnavailable(
                f"podman system service exited with code {process.returncode}; "
                f"see {state_dir / 'podman.log'}"
            )
        if asyncio.get_running_loop().time() > deadline:
            process.kill()
            raise EngineUnavailable("podman system service did not answer within 30 s")
        await asyncio.sleep(0.05)
    return Engine(DockerRuntime(url, "podman", _ulimits_of(process.pid), state_dir), process)


async def connect(
    kind: str, url: str | None, state_dir: Path, insecure_registries: list[str] | None = None
) -> Engine:
    """Connect to the engine `kind` ("auto", "docker" or "podman") or at `url`."""
    url = url or (os.environ.get("DOCKER_HOST") if kind == "auto" else None)
    if url:
        if not url.startswith(("unix://", "tcp://")):
            raise EngineUnavailable(f"engine address {url!r}: use unix:///path or tcp://host:port")
        if not await _answers(url):
            raise EngineUnavailable(f"no container engine answers at {url}: {INSTALL_HINT}")
        found = await _kind(url)
        if kind != "auto" and found != kind:
            raise EngineUnavailable(f"the engine at {url} is {found}, not {kind}")
        ulimits = _ulimits_of(None) if found == "podman" else None
        return Engine(DockerRuntime(url, found, ulimits, state_dir, _open_files_of(_peer_pid(url))))
    if kind in ("auto", "docker"):
        docker_url = f"unix://{DOCKER_SOCKET}"
        if await _answers(docker_url) and await _kind(docker_url) == "docker":
            return Engine(DockerRuntime(
                docker_url, "docker", state_dir=state_dir,
                open_files_ceiling=_open_files_of(_peer_pid(docker_url)),
            ))
        if kind == "docker":
            raise EngineUnavailable(
                f"Docker does not answer at {DOCKER_SOCKET}: start dockerd, or {INSTALL_HINT}"
            )
    if kind in ("auto", "podman"):
        return await _start_podman(state_dir, insecure_registries or [])
    raise EngineUnavailable(f"unknown engine {kind!r}: use auto, docker or podman")
