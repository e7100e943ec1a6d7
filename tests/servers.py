"""Real sbtui servers for tests and benchmarks: each a `sbtui server` process on a real engine.

Benchmarks import this module too: run them from the repository's root as modules
(`.venv/bin/python -m benchmarks.echo`), so `tests` and `benchmarks` are importable as they are."""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiodocker

from tests.tls import certificate

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "localhost/sbtui/busybox:latest"
STOP_WAIT = 60  # seconds: the server's default stop timeout (30 s), and its engine's goodbye


# Options a server on an engine is started with beyond --engine: for swarm, the manager, the
# cluster registry and the cluster CA, set by the test swarm's fixture (tests/swarm_agents.py).
ENGINE_OPTIONS: dict[str, list[str]] = {}


def engine_cli(engine: str) -> list[str]:
    """The command line of an engine's tool: on swarm the docker CLI on the test swarm's
    manager (a Docker engine of its own, not this machine's)."""
    if engine != "swarm":
        return [engine]
    from tests.swarm_cluster import SwarmCluster  # only the swarm needs the cluster

    cluster = SwarmCluster.load()
    assert cluster is not None, "no test swarm cluster is up"
    return ["docker", "--host", cluster.manager.engine_url]


HUNG_AFTER = 20  # seconds an engine may take to list its networks before it is called hung


def engine_hung(cli: list[str], within: float = HUNG_AFTER) -> bool:
    """Whether an engine, through its CLI (`engine_cli`), no longer lists its networks within
    `within` seconds. A deadlocked dockerd still answers pings and serves pulls, while every
    start, exit and network call waits on it forever: each test after it would wait out its
    whole timeout."""
    try:
        subprocess.run([*cli, "network", "ls", "--quiet"], capture_output=True, timeout=within)
    except subprocess.TimeoutExpired:
        return True
    return False


def available_engines() -> list[str]:
    """Engines to test on: SBTUI_TEST_ENGINES, else every one this machine has."""
    wanted = os.environ.get("SBTUI_TEST_ENGINES")
    if wanted:
        return [e.strip() for e in wanted.split(",") if e.strip()]
    found = []
    if shutil.which("podman"):
        found.append("podman")
    if os.path.exists("/var/run/docker.sock"):
        found.append("docker")
    return found


def wait_for(condition, timeout: float, what: str, interval: float = 0.02):
    """Poll `condition` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# How long after the engine ended a sandbox its clients may learn of it: the engine reports the
# end it made (Podman's kill polls the container's state), which with the whole suite running
# on 2 cores took up to 2.15 s. What sbtui promises (an end within 1 s of a deadline) is checked
# on the engine's own record of the end; this only says the client is not left waiting.
REPORTED = 5.0


async def until(condition, timeout: float, what: str, pause=lambda: asyncio.sleep(0.05)):
    """Await `condition()` (sync or async) until it is truthy, running `pause()` between tries;
    return its value. Fails naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pause()


@dataclass
class ServerProcess:
    """One `sbtui server` process on a real engine, for a test or a benchmark: started with
    `start()` (which waits until it listens), stopped gracefully by its pid with `stop()`, and
    with `dispose()` stopped and rid of everything it made."""

    engine: str  # the engine it runs on ("auto" only for a server that must refuse to start)
    state_dir: Path
    extra: list[str] = field(default_factory=list)  # more `sbtui server` options
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = ROOT  # where it is started from
    choice: str = ""  # the --engine given, when not `engine` itself ("auto": the server chooses)
    wrapper: list[str] = field(default_factory=list)  # a command the server runs under
    profile: Path | None = None  # run under cProfile, which writes here when the server stops
    keep_state: bool = False  # dispose() leaves the state directory, to be looked at
    ca: Path | None = None  # the certificate a client verifies this server's TLS with
    process: subprocess.Popen | None = None
    address: str = ""

    @property
    def socket(self) -> Path:
        return self.state_dir / "sbtui.sock"

    @property
    def log_path(self) -> Path:
        """What the server printed (not `server.log`: that is the embedded daemon's own)."""
        return self.state_dir / "server-output.log"

    @property
    def server_id(self) -> str:
        """The id this server puts in the io.sbtui.server label of its containers."""
        return (self.state_dir / "server-id").read_text().strip()

    @property
    def podman_pid(self) -> int | None:
        """The pid of the Podman service this server started, if it started one."""
        pid_file = self.state_dir / "podman.pid"
        return int(pid_file.read_text()) if pid_file.exists() else None

    @property
    def engine_url(self) -> str:
        """Where this server's engine answers: the --engine-url it was given, else Docker's
        socket, or the Podman service it started."""
        given = self.extra if "--engine-url" in self.extra else ENGINE_OPTIONS.get(self.engine, [])
        if "--engine-url" in given:
            return given[given.index("--engine-url") + 1]
        if self.engine == "podman":
            return f"unix://{self.state_dir / 'podman.sock'}"
        return "unix:///var/run/docker.sock"

    async def engine_host(self) -> str:
        """The name the engine gives its host (GET /info's Name): the node its containers run
        on. Asked of the engine itself, not of the server."""
        async with aiodocker.Docker(url=self.engine_url) as docker:
            return str((await docker.system.info())["Name"])

    def command(self) -> list[str]:
        cmd = [*self.wrapper, sys.executable]
        if self.profile is not None:
            cmd += ["-m", "cProfile", "-o", str(self.profile)]
        cmd += [
            "-m",
            "sbtui",
            "server",
            "--engine",
            self.choice or self.engine,
            "--state-dir",
            str(self.state_dir),
            # Not when the test gives the engine's address itself: it says all.
            *([] if "--engine-url" in self.extra else ENGINE_OPTIONS.get(self.choice or self.engine, [])),
        ]
        if not any(arg in ("--listen", "--socket") for arg in self.extra):
            cmd += ["--socket", str(self.socket)]
        return cmd + self.extra

    def start(self, timeout: float = 120) -> "ServerProcess":
        log = open(self.log_path, "ab")
        offset = log.tell()
        RUNNING[id(self)] = self
        self.process = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            cwd=self.cwd,
            env=dict(os.environ, **self.env),
        )
        log.close()

        def listening():
            if self.process.poll() is not None:
                raise RuntimeError(f"sbtui server exited early:\n{self.log_text(offset)}")
            for line in self.log_text(offset).splitlines():
                if line.startswith("sbtui server listening on "):
                    return line.split(" on ", 1)[1].strip()
            return None

        try:
            self.address = wait_for(listening, timeout, "the sbtui server to listen", 0.05)
        except TimeoutError as err:
            raise TimeoutError(f"{err}; it printed:\n{self.log_tail()}") from None
        return self

    def run_refused(self, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run the server in the foreground, for one that must refuse to start: its exit
        status and what it printed, as text."""
        return subprocess.run(
            self.command(),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
            env=dict(os.environ, **self.env),
        )

    def log_text(self, offset: int = 0) -> str:
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_text().splitlines()[-lines:])
        except OSError:
            return ""

    def kill(self) -> None:
        """kill -9: no chance to clean up."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> int | None:
        """SIGTERM, and wait for the graceful stop (which may take the server's stop timeout to
        finish acknowledged terminations); kill -9 only past that. Returns the exit status."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_WAIT)
            except subprocess.TimeoutExpired:
                print(
                    f"[{self.engine}] the sbtui server did not stop within {STOP_WAIT} s: killing it",
                    file=sys.stderr,
                )
                self.kill()
        return self.process.returncode if self.process else None

    def dispose(self, tell: bool = False) -> list[str]:
        """The end of a server: stop it and the Podman service it started, remove what it made
        on the engine (sandboxes outlive their server by design), delete its state unless
        `keep_state`. Returns the ids of the containers it left; `tell` names each on stderr
        (a benchmark's sandboxes should all be gone: one left is worth seeing)."""
        self.stop()
        RUNNING.pop(id(self), None)
        self.stop_engine_service()
        left = []
        if (self.state_dir / "server-id").exists():
            left = remove_what_it_made(self.engine, self.server_id)
        if tell:
            for cid in left:
                print(f"[{self.engine}] cleanup: removed leftover container {cid[:12]}", file=sys.stderr)
        if not self.keep_state:
            shutil.rmtree(self.state_dir, ignore_errors=True)
        return left

    def stop_engine_service(self) -> None:
        """Stop the Podman service this server started (by its recorded pid), if still running."""
        if self.podman_pid is not None:
            stop_pid(self.podman_pid, b"podman")


# Servers started and not yet disposed, by id(): what they print goes with a failed test's
# report (conftest.py).
RUNNING: dict[int, ServerProcess] = {}


def log_sizes() -> dict[int, int]:
    """How much each running server has printed so far."""
    sizes = {}
    for key, server in RUNNING.items():
        try:
            sizes[key] = server.log_path.stat().st_size
        except OSError:
            pass
    return sizes


def printed_since(sizes: dict[int, int], lines: int = 80) -> str:
    """The last `lines` each running server printed after `sizes` (log_sizes()), by server."""
    parts = []
    for key, server in list(RUNNING.items()):
        try:
            text = server.log_text(sizes.get(key, 0))
        except OSError:
            continue
        if text.strip():
            tail = "\n".join(text.splitlines()[-lines:])
            parts.append(f"--- sbtui server ({server.engine}, {server.state_dir}) ---\n{tail}")
    return "\n".join(parts)


def new_tls_server(engine: str, name: str, token: str) -> ServerProcess:
    """A server (not started) on 127.0.0.1 over TCP with TLS, verified with its self-signed
    certificate (`.ca`), whose admin token is `token`."""
    state = new_state_dir(f"{engine}-{name}")
    cert, key = certificate(state)
    token_file = state / "token-in"
    token_file.write_text(token)
    return ServerProcess(
        engine,
        state,
        ca=cert,
        extra=[
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(key),
            "--token-file",
            str(token_file),
        ],
    )


def stop_pid(pid: int, expected: bytes) -> None:
    """SIGTERM `pid` if it is still the process meant (its command line holds `expected`) and
    wait for it to go; kill -9 past 10 s."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return  # already gone
    if expected not in cmdline:
        return  # gone (a zombie has no command line), or the pid went to something else
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return
        try:
            # Reap it if it happens to be our child; otherwise just wait for it to vanish.
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            pass
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def remove_what_it_made(engine: str, server_id: str) -> list[str]:
    """Remove what a stopped server leaves on its engine, found by its id with the engine's
    CLI: its containers, its networks, its volumes and its snapshots. Returns the containers'
    ids."""
    label = ("--filter", f"label=io.sbtui.server={server_id}")
    cli = engine_cli(engine)
    if engine == "swarm":  # its services, their networks and its images, through the manager
        services = subprocess.run(
            [*cli, "service", "ls", "--quiet", *label], capture_output=True, text=True, timeout=60
        ).stdout.split()
        if services:
            subprocess.run([*cli, "service", "rm", *services], capture_output=True, timeout=120)
        remove_networks(cli, server_id)
        remove_images(cli, _listed(cli, "images", *label))
        remove_node_volumes(server_id)
        return services
    containers = remove_containers(cli, server_id)
    remove_networks(cli, server_id)
    volumes = subprocess.run(
        [*cli, "volume", "ls", "--quiet", *label], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    if volumes:
        subprocess.run([*cli, "volume", "rm", "--force", *volumes], capture_output=True, timeout=120)
    remove_images(cli, _listed(cli, "images", *label))
    return containers


def remove_node_volumes(server_id: str) -> None:
    """Remove a swarm server's volumes from the engine of each node that holds one, once the
    containers of its removed services let go of them."""
    from tests.swarm_cluster import SwarmCluster  # only a swarm server's end needs the cluster

    cluster = SwarmCluster.load()
    if cluster is None:
        return
    for node in cluster.nodes.values():
        engine = ("docker", "-H", node.engine_url)

        def removed() -> bool:
            names = subprocess.run(
                [*engine, "volume", "ls", "--quiet", "--filter", f"label=io.sbtui.server={server_id}"],
                capture_output=True,
                text=True,
                timeout=60,
            ).stdout.split()
            if not names:
                return True
            return (
                subprocess.run([*engine, "volume", "rm", *names], capture_output=True, timeout=60).returncode
                == 0
            )

        try:
            wait_for(removed, 30, f"the test server's volumes on node {node.name} to be removed", 0.2)
        except TimeoutError:
            pass  # left to the node: a test's end is no place to fail on it


def _listed(cli: list[str], *command: str) -> list[str]:
    """The full ids an engine CLI listing (`ps --all`, `images`, with filters) gives, once each."""
    out = subprocess.run(
        [*cli, *command, "--quiet", "--no-trunc"], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    return list(dict.fromkeys(out))


def remove_containers(cli: list[str], server_id: str) -> list[str]:
    """Remove the containers labelled with `server_id`, with the engine's own CLI: sandboxes
    first, then the holders of the network namespaces they share (Podman insists). Returns
    the ids of those it found."""
    label = ("--filter", f"label=io.sbtui.server={server_id}")
    holders = _listed(cli, "ps", "--all", *label, "--filter", "label=io.sbtui.network-of")
    sandboxes = [c for c in _listed(cli, "ps", "--all", *label) if c not in holders]
    for ids in (sandboxes, holders):
        if ids:
            # check=False: the server may be removing some of them itself meanwhile.
            subprocess.run([*cli, "rm", "--force", *ids], capture_output=True, timeout=120)
    return sandboxes + holders


def remove_images(cli: list[str], ids: list[str]) -> None:
    """Remove images by id (every tag of each) with the engine's CLI. Given newest first, as
    the CLI lists them, a snapshot of a sandbox started from a snapshot goes before its base."""
    if ids:
        subprocess.run([*cli, "rmi", "--force", *ids], capture_output=True, timeout=120)


def remove_networks(cli: list[str], server_id: str) -> None:
    """Remove the networks labelled with `server_id` (its environments'), with the engine's CLI;
    a container the engine is still removing holds its network a while."""

    def removed() -> bool:
        names = subprocess.run(
            [*cli, "network", "ls", "--quiet", "--filter", f"label=io.sbtui.server={server_id}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.split()
        return (
            not names
            or subprocess.run([*cli, "network", "rm", *names], capture_output=True, timeout=120).returncode
            == 0
        )

    try:
        wait_for(removed, 20, "the test server's networks to be removed", 0.2)
    except TimeoutError:
        pass  # left to the engine: a test's end is no place to fail on it


def new_state_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"sbtui-{prefix}-"))
