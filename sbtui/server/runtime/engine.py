"""Finding a container engine, and starting Podman's API service when it is the one we have.

Order: an explicit URL (argument or DOCKER_HOST), then Docker's socket, then Podman, whose
`podman system service` the server starts itself, restarts when it dies (podman_service.py)
and stops when it exits.
"""

from __future__ import annotations

import os
import resource
import shutil
import socket
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

from sbtui.server.cluster_ca import ClusterCA
from sbtui.server.engine_health import EngineHealth
from sbtui.server.runtime.base import EngineUnavailable
from sbtui.server.runtime.docker import DockerRuntime
from sbtui.server.runtime.hijack import answers
from sbtui.server.runtime.naming import AGENT_PORT
from sbtui.server.runtime.node_agents import NodeAgents
from sbtui.server.runtime.podman_service import PodmanService
from sbtui.server.runtime.swarm import SwarmRuntime

DOCKER_SOCKET = "/var/run/docker.sock"
INSTALL_HINT = (
    "install Podman (apt-get install podman runc) or Docker (apt-get install docker.io and "
    "start dockerd), or point DOCKER_HOST at a running engine"
)


@dataclass
class Cluster:
    """How a swarm runtime reaches what is not the manager's: the registry every node pulls the
    server's own images from, and the port its node agents listen on."""

    registry: str = ""  # HOST:PORT
    agent_port: int = AGENT_PORT
    ca_dir: Path | None = None  # the cluster CA's, if not the state directory's


@dataclass
class Engine:
    runtime: DockerRuntime | SwarmRuntime
    service: PodmanService | None = None  # the Podman API service the server runs, if any

    def supervise(self, health: EngineHealth, restarted: Callable[[], Awaitable[None]]) -> None:
        """Keep the engine service the server runs (if any) running; see podman_service.py."""
        if self.service is not None:
            self.service.supervise(health, restarted)

    async def close(self) -> None:
        await self.runtime.close()
        if self.service is not None:
            await self.service.stop()


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
                    hard = line[len(label) :].split()[1]
                    if hard.isdigit():
                        found[name] = int(hard)
    except OSError:
        pass
    return found


def ulimits_of(pid: int | None) -> list[dict]:
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
            sock.connect(url[len("unix://") :])
            pid = creds.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, creds.size))[0]
    except OSError:
        return None
    return pid or None


def _open_files_of(pid: int | None) -> int | None:
    """The most open files the engine process `pid` can give its containers' processes."""
    return _hard_limits(pid).get("nofile") if pid else None


async def _start_podman(state_dir: Path, insecure_registries: list[str]) -> Engine:
    podman = shutil.which("podman")
    if podman is None:
        raise EngineUnavailable(f"no container engine found: {INSTALL_HINT}")
    service = PodmanService(podman, state_dir, insecure_registries)
    await service.start(_peer_pid)
    return Engine(DockerRuntime(service.url, "podman", ulimits_of(service.pid), state_dir), service)


async def _connect_swarm(url: str | None, state_dir: Path, cluster: Cluster) -> Engine:
    url = url or os.environ.get("DOCKER_HOST") or f"unix://{DOCKER_SOCKET}"
    if not cluster.registry:
        raise EngineUnavailable(
            "the swarm runtime needs the cluster registry every node pulls from: --registry HOST:PORT"
        )
    if not await answers(url):
        raise EngineUnavailable(f"no swarm manager answers at {url}: give its Engine API with --engine-url")
    agents = NodeAgents(ClusterCA(state_dir, cluster.ca_dir).server_credentials(), cluster.agent_port)
    runtime = SwarmRuntime(url, cluster.registry, agents, state_dir)
    try:
        await runtime.check_manager()
    except BaseException:
        await runtime.close()
        raise
    return Engine(runtime)


async def at_url(url: str, kind: str = "auto", state_dir: Path | None = None) -> DockerRuntime:
    """The engine (of `kind`, or either with "auto") that answers at `url`; `state_dir` is
    where it is given files by path (none needed by a runtime that creates no containers)."""
    if not url.startswith(("unix://", "tcp://")):
        raise EngineUnavailable(f"engine address {url!r}: use unix:///path or tcp://host:port")
    if not await answers(url):
        raise EngineUnavailable(f"no container engine answers at {url}: {INSTALL_HINT}")
    found = await _kind(url)
    if kind != "auto" and found != kind:
        raise EngineUnavailable(f"the engine at {url} is {found}, not {kind}")
    ulimits = ulimits_of(None) if found == "podman" else None
    return DockerRuntime(url, found, ulimits, state_dir, _open_files_of(_peer_pid(url)))


async def connect(
    kind: str,
    url: str | None,
    state_dir: Path,
    insecure_registries: list[str] | None = None,
    cluster: Cluster | None = None,
) -> Engine:
    """Connect to the engine `kind` ("auto", "docker", "podman" or "swarm") or at `url`."""
    if kind == "swarm":
        return await _connect_swarm(url, state_dir, cluster or Cluster())
    url = url or (os.environ.get("DOCKER_HOST") if kind == "auto" else None)
    if url:
        return Engine(await at_url(url, kind, state_dir))
    if kind in ("auto", "docker"):
        docker_url = f"unix://{DOCKER_SOCKET}"
        if await answers(docker_url) and await _kind(docker_url) == "docker":
            return Engine(
                DockerRuntime(
                    docker_url,
                    "docker",
                    state_dir=state_dir,
                    open_files_ceiling=_open_files_of(_peer_pid(docker_url)),
                )
            )
        if kind == "docker":
            raise EngineUnavailable(
                f"Docker does not answer at {DOCKER_SOCKET}: start dockerd, or {INSTALL_HINT}"
            )
    if kind in ("auto", "podman"):
        return await _start_podman(state_dir, insecure_registries or [])
    raise EngineUnavailable(f"unknown engine {kind!r}: use auto, docker, podman or swarm")
