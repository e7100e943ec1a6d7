"""Fixed sample sandboxes, and a client that serves them to the dashboard.

For screenshots, SVG snapshot tests and the list benchmark only: it answers just the calls that
drawing screens needs (watch, from_id, logs, tunnels, tags, images, engine status, capabilities),
with data that never changes, at a fixed "now". Behaviour is tested against the real server
(tests/tui/test_*_real.py).
"""

from __future__ import annotations

import asyncio
import random
from typing import AsyncIterator

from sbtui.client import (
    Capabilities,
    EngineState,
    EngineStatus,
    EventKind,
    FailedPreconditionError,
    Image,
    LogChunk,
    NotFoundError,
    SandboxEvent,
    SandboxInfo,
    SandboxParams,
    SandboxState,
    TerminationReason,
    Tunnel,
)
from sbtui.client.reachability import Reach, TunnelReach
from sbtui.server.runtime.gpu import NO_GPU
from sbtui.server.validation import ONE_MACHINE_UNSUPPORTED, UNSUPPORTED

# A manager and two workers, as a swarm of three machines names them.
NODES = ("manager-1", "worker-1", "worker-2")
NOW = 1764130000.0  # 2025-11-26 04:06:40Z: ages in screenshots are computed from this
ADDRESS = "unix:///run/user/1000/sbtui/server.sock"


def clock() -> float:
    return NOW


def sandbox(
    n: int,
    app: str,
    *,
    name: str = "",
    image: str = "python:3.11-slim",
    state: SandboxState = SandboxState.RUNNING,
    age: float = 600,
    exit_code: int | None = None,
    reason: TerminationReason = TerminationReason.NONE,
    tags: dict[str, str] | None = None,
    node: str | None = None,
    **params,
) -> SandboxInfo:
    created = NOW - age
    finished = state == SandboxState.FINISHED
    if node is None:  # spread over the nodes; one still being created has none yet
        node = "" if state == SandboxState.CREATING else NODES[n % len(NODES)]
    return SandboxInfo(
        sandbox_id=f"sb-{n:04d}SaMpLe{n * 7919 % 100000:06d}",
        app_id=f"ap-{app}",
        app_name=app,
        environment="main",
        name=name,
        image_id=f"im-{sum(map(ord, image)) * 7717 % 10**10:010d}",
        image_tag=image,
        state=state,
        exit_code=exit_code,
        termination_reason=reason,
        tags=dict(tags or {}),
        created_at=created,
        started_at=created + 1.5 if state != SandboxState.CREATING else 0.0,
        finished_at=created + age / 2 if finished else 0.0,
        deadline=created + params.get("timeout", 300.0),
        last_activity=NOW - 12 if not finished else created + age / 2,
        params=SandboxParams(name=name, **params),  # the name is a create parameter too
        node=node,
    )


def sandboxes() -> list[SandboxInfo]:
    """A dozen sandboxes over three apps, in every state, with tags, limits and ports."""
    C, T, F = SandboxState.CREATING, SandboxState.TERMINATING, SandboxState.FINISHED
    return [
        sandbox(
            1,
            "web",
            name="api-preview",
            image="python:3.11-slim",
            age=3 * 3600,
            cpu=1.0,
            cpu_limit=2.0,
            memory_mib=1024,
            memory_limit_mib=2048,
            timeout=86400.0,
            command=["python", "-m", "http.server", "8080"],
            workdir="/srv",
            env={"PORT": "8080", "LOG_LEVEL": "info"},
            secrets=["db-password"],
            encrypted_ports=[8080],
            unencrypted_ports=[9090],
            idle_timeout=1800.0,
            volumes={"/data": "web-cache"},
            tags={"env": "prod", "team": "web"},
        ),
        sandbox(
            2,
            "web",
            name="api-canary",
            age=42 * 60,
            cpu=0.5,
            memory_mib=512,
            timeout=7200.0,
            command=["python", "app.py"],
            encrypted_ports=[8443],
            h2_ports=[50051],
            tags={"env": "staging", "team": "web"},
        ),
        sandbox(
            3,
            "web",
            image="node:22-alpine",
            age=95,
            cpu=0.25,
            memory_mib=256,
            command=["npm", "run", "dev"],
            unencrypted_ports=[5173],
            tags={"env": "dev"},
        ),
        sandbox(
            4,
            "web",
            state=C,
            image="node:22-alpine",
            age=4,
            cpu=0.25,
            memory_mib=256,
            tags={"env": "dev", "owner": "ana"},
        ),
        sandbox(
            5,
            "etl",
            name="nightly-load",
            image="localhost/etl/runner:2.3",
            age=5 * 3600,
            cpu=4.0,
            memory_mib=8192,
            memory_limit_mib=8192,
            timeout=21600.0,
            command=["etl", "run", "--all"],
            tags={"env": "prod", "job": "nightly"},
        ),
        sandbox(
            6,
            "etl",
            image="localhost/etl/runner:2.3",
            state=F,
            age=26 * 3600,
            exit_code=0,
            reason=TerminationReason.EXITED,
            cpu=2.0,
            memory_mib=4096,
            command=["etl", "run", "orders"],
            tags={"env": "prod", "job": "orders"},
        ),
        sandbox(
            7,
            "etl",
            image="localhost/etl/runner:2.3",
            state=F,
            age=30 * 3600,
            exit_code=137,
            reason=TerminationReason.OUT_OF_MEMORY,
            cpu=2.0,
            memory_mib=2048,
            memory_limit_mib=2048,
            command=["etl", "run", "events"],
            tags={"env": "prod", "job": "events"},
        ),
        sandbox(
            8,
            "etl",
            state=T,
            image="localhost/etl/runner:2.3",
            age=18 * 60,
            cpu=1.0,
            memory_mib=1024,
            tags={"env": "staging"},
        ),
        sandbox(
            9,
            "notebooks",
            name="ana-scratch",
            image="jupyter/minimal:2025-10",
            age=20 * 3600,
            cpu=2.0,
            memory_mib=4096,
            gpu="T4",
            pty=True,
            encrypted_ports=[8888],
            timeout=86400.0,
            tags={"owner": "ana"},
        ),
        sandbox(
            10,
            "notebooks",
            image="jupyter/minimal:2025-10",
            state=F,
            age=3 * 86400,
            exit_code=143,
            reason=TerminationReason.TERMINATED,
            cpu=1.0,
            memory_mib=2048,
            tags={"owner": "raj"},
        ),
        sandbox(
            11,
            "notebooks",
            image="python:3.12",
            state=F,
            age=7 * 60,
            exit_code=1,
            reason=TerminationReason.EXITED,
            command=["python", "train.py"],
            block_network=True,
            tags={"owner": "raj", "exp": "lr-sweep"},
        ),
        sandbox(
            12,
            "notebooks",
            image="python:3.12",
            state=F,
            age=4 * 86400,
            exit_code=124,
            reason=TerminationReason.TIMEOUT,
            timeout=600.0,
            cidr_allowlist=["10.0.0.0/8"],
            tags={"owner": "raj"},
        ),
    ]


def snapshots() -> list[Image]:
    """Images made by snapshots: of running and finished sandboxes, and of one that is gone."""
    made = []
    for image_id, n, age, size in (
        ("im-8H2kQ0c4Rw1xV9zA", 1, 12 * 60, 155_493_120),
        ("im-3tV7pLm2Qx9KcW4e", 5, 2 * 3600 + 17 * 60, 1_288_490_188),
        ("im-Zr5nB8yT1uHd6GfA", 7, 29 * 3600, 1_181_116_006),
        ("im-Pk2xD9wF4cVb7NsE", 1, 2 * 86400, 146_800_640),
        ("im-Wq0eK4sJ7aLm3PzX", 42, 6 * 86400, 96_468_992),
    ):
        image = Image(tag=f"localhost/sbtui/snapshots:{image_id.lower()}", image_id=image_id)
        image.created_at, image.size_bytes = NOW - age, size
        image.source_sandbox_id = f"sb-{n:04d}SaMpLe{n * 7919 % 100000:06d}"
        made.append(image)
    return made


def many(count: int, seed: int = 7) -> list[SandboxInfo]:
    """`count` varied sandboxes for the list benchmark."""
    rng = random.Random(seed)
    apps = [f"app-{i:02d}" for i in range(40)]
    images = [
        "python:3.11-slim",
        "node:22-alpine",
        "localhost/etl/runner:2.3",
        "busybox:1.36",
        "jupyter/minimal:2025-10",
        "golang:1.23",
    ]
    states = [SandboxState.RUNNING] * 6 + [SandboxState.FINISHED] * 3 + [SandboxState.CREATING]
    made = []
    for n in range(count):
        state = rng.choice(states)
        done = state == SandboxState.FINISHED
        made.append(
            sandbox(
                100000 + n,
                rng.choice(apps),
                name=f"worker-{n}" if rng.random() < 0.3 else "",
                image=rng.choice(images),
                state=state,
                age=rng.uniform(5, 5 * 86400),
                exit_code=rng.choice([0, 0, 1, 137]) if done else None,
                reason=TerminationReason.EXITED if done else TerminationReason.NONE,
                tags={"env": rng.choice(["prod", "staging", "dev"]), "team": rng.choice(apps[:8])},
                cpu=rng.choice([0.25, 0.5, 1.0, 2.0]),
                memory_mib=rng.choice([256, 512, 1024, 4096]),
                encrypted_ports=[8080] if rng.random() < 0.2 else [],
            )
        )
    return made


OUTPUT = {  # the main command's output, by app
    "web": (
        b"Serving HTTP on 0.0.0.0 port 8080 (http://0.0.0.0:8080/) ...\n"
        b'10.88.0.1 - - [26/Nov/2025 03:58:10] "GET / HTTP/1.1" 200 -\n'
        b'10.88.0.1 - - [26/Nov/2025 03:58:11] "GET /favicon.ico HTTP/1.1" 404 -\n'
        b'10.88.0.1 - - [26/Nov/2025 04:01:37] "GET /api/health HTTP/1.1" 200 -\n'
        b'10.88.0.1 - - [26/Nov/2025 04:05:02] "POST /api/jobs HTTP/1.1" 201 -\n'
    ),
    "etl": (
        b"etl 2.3.1: 4 sources, 12 tables\n"
        b"[extract] orders: 1,204,331 rows in 41.2s\n"
        b"[extract] events: 18,550,912 rows in 6m12s\n"
        b"\x1b[33m[transform] events: spilling to disk (memory 1.9 GiB of 2 GiB)\x1b[0m\n"
        b"Killed\n"
    ),
    "notebooks": (
        b"[I 2025-11-24 04:06:42 ServerApp] Jupyter Server 2.14.2 is running at:\n"
        b"[I 2025-11-24 04:06:42 ServerApp] http://127.0.0.1:8888/lab\n"
        b"[I 2025-11-26 03:12:09 ServerApp] Saving file at /work/scratch.ipynb\n"
    ),
}


class SampleSandbox:
    def __init__(self, info: SandboxInfo) -> None:
        self.sandbox_id = info.sandbox_id
        self.info = info

    async def logs(self, *, follow: bool = False, tail: int = 0) -> AsyncIterator[LogChunk]:
        yield LogChunk("stdout", OUTPUT.get(self.info.app_name, OUTPUT["web"]), NOW)
        if follow and self.info.state != SandboxState.FINISHED:
            await asyncio.Event().wait()  # a live sandbox that prints nothing more

    async def tunnels(self, timeout: float = 50) -> dict[int, Tunnel]:
        p = self.info.params
        ports = [(port, "encrypted") for port in p.encrypted_ports]
        ports += [(port, "h2") for port in p.h2_ports] + [
            (port, "unencrypted") for port in p.unencrypted_ports
        ]
        if not ports:
            raise FailedPreconditionError(f"sandbox {self.sandbox_id} declared no ports")
        return {
            port: Tunnel(
                "127.0.0.1",
                40000 + i,
                "127.0.0.1" if kind == "unencrypted" else "",
                41000 + i if kind == "unencrypted" else 0,
                port,
                kind,
            )
            for i, (port, kind) in enumerate(ports)
        }

    async def get_tags(self) -> dict[str, str]:
        return dict(self.info.tags)


def tunnel_checks(tunnels: list[Tunnel]) -> list[TunnelReach]:
    """A reachability check of `tunnels` as it could come out: the first port served, the
    others with nothing listening in the sandbox."""
    results = []
    for i, t in enumerate(tunnels):

        def reach(host: str, port: int, ms: float) -> Reach:
            if i == 0:
                return Reach(host, port, ms)
            return Reach(host, port, error=f"nothing listens on port {t.container_port} in the sandbox")

        tcp = reach(*t.tcp_socket(), 0.9) if t.unencrypted_port else None
        results.append(TunnelReach(t, reach(*t.tls_socket(), 3.2), tcp))
    return results


class SampleSandboxes:
    def __init__(self, infos: list[SandboxInfo]) -> None:
        self.by_id = {info.sandbox_id: info for info in infos}
        self.events: asyncio.Queue[SandboxEvent] | None = None

    async def watch(
        self, *, initial: bool = True, include_finished: bool = True
    ) -> AsyncIterator[SandboxEvent]:
        self.events = asyncio.Queue()
        if initial:
            for info in self.by_id.values():
                yield SandboxEvent(EventKind.EXISTING, info, NOW)
            yield SandboxEvent(EventKind.SYNCED, None, NOW)
        while True:  # later events only if someone (the benchmark) puts them in
            yield await self.events.get()

    async def from_id(self, sandbox_id: str) -> SampleSandbox:
        info = self.by_id.get(sandbox_id)
        if info is None:
            raise NotFoundError(f"no sandbox {sandbox_id}")
        return SampleSandbox(info)


def images() -> list[Image]:
    """Images the sample server has: pulled ones and its base image, then the snapshots."""
    made = []
    for tag, size, age in (
        ("python:3.11-slim", 131_400_000, 3 * 86400),
        ("node:22-bookworm", 1_118_000_000, 9 * 86400),
        ("localhost/sbtui/busybox:latest", 1_400_000, 20 * 86400),
    ):
        image = Image(tag, f"im-{sum(map(ord, tag)) * 7717 % 10**10:010d}")
        image.size_bytes, image.created_at = size, NOW - age
        made.append(image)
    return made + snapshots()


class SampleImages:
    def __init__(self, images: list[Image]) -> None:
        self.items = images

    async def list(self, *, snapshots_only: bool = False) -> list[Image]:
        return [i for i in self.items if i.source_sandbox_id or not snapshots_only]


ENGINE_OK = EngineStatus("podman", EngineState.OK, since=NOW - 86400)
ENGINE_RESTARTING = EngineStatus(
    "podman",
    EngineState.RESTARTING,
    attempt=4,
    since=NOW - 2,
    restarts=1,
    last_error="restart attempt 3 failed: podman system service exited with code 125; "
    "see /var/lib/sbtui/podman.log",
)


# What a server on a local engine, on a host without GPUs, says it can't honour: its own words.
CAPABILITIES = Capabilities({**UNSUPPORTED, **ONE_MACHINE_UNSUPPORTED, "gpu": NO_GPU})


class SampleClient:
    """Stands in for sbtui.Client where only fixed pictures are wanted."""

    def __init__(self, infos: list[SandboxInfo] | None = None) -> None:
        self.address = ADDRESS
        self.sandboxes = SampleSandboxes(sandboxes() if infos is None else infos)
        self.images = SampleImages(images())
        self.engine = ENGINE_OK

    async def engine_status(self) -> EngineStatus:
        return self.engine

    async def capabilities(self) -> Capabilities:
        return CAPABILITIES

    async def close(self) -> None:
        pass


# What a shell session shows: a coloured prompt, a command and its answer, coloured `ls`.
SHELL_OUTPUT = (
    b"\x1b[1;32mroot@api-preview\x1b[0m:\x1b[1;34m/srv\x1b[0m# echo $((6*7))\r\n42\r\n"
    b"\x1b[1;32mroot@api-preview\x1b[0m:\x1b[1;34m/srv\x1b[0m# ls --color\r\n"
    b"\x1b[1;34mapp\x1b[0m  \x1b[1;34mdata\x1b[0m  \x1b[1;32mmanage.py\x1b[0m  "
    b"requirements.txt  \x1b[1;36mstatic\x1b[0m\r\n"
    b"\x1b[1;32mroot@api-preview\x1b[0m:\x1b[1;34m/srv\x1b[0m# "
    b"python -c 'print(\"h\\u00e9llo \\u4e16\\u754c\")'\r\n"
    b"h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c\r\n"
    b"\x1b[1;32mroot@api-preview\x1b[0m:\x1b[1;34m/srv\x1b[0m# "
)
