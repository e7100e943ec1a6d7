"""`sbtui server`: start the engine connection, the state store and the gRPC server."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import secrets
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from sbtui import keepalive, paths
from sbtui.proto import sandbox_pb2_grpc as pb_grpc
from sbtui.server import state_engine, tunnels
from sbtui.server.auth import SocketAuth, TokenAuth
from sbtui.server.ca import CertificateAuthority
from sbtui.server.domains import CustomDomains, SuffixError
from sbtui.server.lifecycle import DEFAULT_STOP_TIMEOUT
from sbtui.server.limits import Limits
from sbtui.server.malformed import RejectMalformed
from sbtui.server.runtime import busybox_image
from sbtui.server.runtime.base import EngineError
from sbtui.server.runtime.engine import Cluster
from sbtui.server.sandboxes import SandboxManager
from sbtui.server.service import SandboxService
from sbtui.server.store import Store
from sbtui.server.stream_limits import DEFAULT_PER_ENVIRONMENT, DEFAULT_PER_SANDBOX, StreamLimits
from sbtui.server.tokens import Tokens

log = logging.getLogger("sbtui.server")

CALLS_GRACE = 2.0  # seconds calls under way get to end when the server stops


class StartupError(Exception):
    """The server can't start; the message says why and what to do."""


@dataclass
class ServerOptions:
    socket: Path | None = None  # Unix socket (default when no listen address)
    listen: str | None = None  # HOST:PORT for TCP
    token: str | None = None  # required on TCP; generated into the state dir if unset
    tls_cert: Path | None = None
    tls_key: Path | None = None
    insecure: bool = False  # allow plaintext TCP
    state_dir: Path | None = None
    engine: str = "auto"
    engine_url: str | None = None
    insecure_registries: list[str] = field(default_factory=list)  # HOST:PORT pulled over HTTP
    cluster: Cluster = field(default_factory=Cluster)  # the swarm runtime's registry and agents
    idle_exit: float = 0.0  # seconds idle (no calls, no sandboxes) before exiting; 0 = never
    stop_timeout: float = DEFAULT_STOP_TIMEOUT  # seconds a stop may spend finishing terminations
    tunnel_host: str = tunnels.DEFAULT_HOST  # where tunnel listeners bind
    custom_domain_suffixes: list[str] = field(default_factory=list)  # [ENV=]SUFFIX, see domains.py
    max_streams_per_sandbox: int = DEFAULT_PER_SANDBOX  # exec sessions and log reads
    max_streams_per_environment: int = DEFAULT_PER_ENVIRONMENT  # those, and watches
    limits: Limits = field(default_factory=Limits)  # what each sandbox may use


def _lock(state_dir: Path):
    handle = open(state_dir / "server.lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "?"
        handle.close()
        raise StartupError(
            f"another sbtui server (pid {owner}) is using {state_dir}; stop it or pass --state-dir"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def _server_id(state_dir: Path) -> str:
    path = state_dir / "server-id"
    if not path.exists():
        path.write_text(secrets.token_hex(8))
    return path.read_text().strip()


def _token(options: ServerOptions, state_dir: Path) -> str:
    if options.token:
        return options.token
    path = state_dir / "token"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
        log.info("generated a token in %s (readable only by you)", path)
    return path.read_text().strip()


def _bind(server: grpc.aio.Server, options: ServerOptions, state_dir: Path) -> str:
    if options.listen:
        if options.tls_cert or options.tls_key:
            if not (options.tls_cert and options.tls_key):
                raise StartupError("--tls-cert and --tls-key go together; give both")
            credentials = grpc.ssl_server_credentials(
                [(options.tls_key.read_bytes(), options.tls_cert.read_bytes())]
            )
            port = server.add_secure_port(options.listen, credentials)
            scheme = "tls://"
        elif options.insecure:
            port = server.add_insecure_port(options.listen)
            scheme = ""
        else:
            raise StartupError(
                f"refusing to serve plaintext TCP on {options.listen}: give --tls-cert and "
                "--tls-key, or --insecure to accept tokens in clear text"
            )
        if port == 0:
            raise StartupError(f"could not listen on {options.listen}")
        host = options.listen.rsplit(":", 1)[0]
        return f"{scheme}{host}:{port}"
    socket = options.socket or paths.default_socket()
    paths.private_dir(socket.parent)
    socket.unlink(missing_ok=True)
    old = os.umask(0o177)  # the socket is born private: no window where others can connect
    try:
        if server.add_insecure_port(f"unix://{socket}") == 0:
            raise StartupError(f"could not bind the Unix socket {socket}")
    finally:
        os.umask(old)
    return f"unix://{socket}"


async def serve(options: ServerOptions, ready: asyncio.Event | None = None) -> None:
    try:
        tunnel_host = tunnels.resolve_host(options.tunnel_host)
    except tunnels.TunnelHostError as err:
        raise StartupError(f"{err}; pass another --tunnel-host") from None
    problems = options.limits.problems()
    if problems:
        raise StartupError("; ".join(problems))
    try:
        custom_domains = CustomDomains(options.custom_domain_suffixes)
    except SuffixError as err:
        raise StartupError(str(err)) from None
    state_dir = paths.private_dir(options.state_dir or paths.state_dir())
    lock = _lock(state_dir)
    store = Store(state_dir / "state.db")
    try:
        engine = await state_engine.connect(
            options.engine,
            options.engine_url,
            state_dir,
            options.insecure_registries,
            store,
            lambda: _server_id(state_dir),
            options.cluster,
        )
    except (EngineError, state_engine.EngineChoiceError) as err:
        store.close()
        raise StartupError(str(err)) from None
    manager = SandboxManager(store, engine.runtime, _server_id(state_dir), options.limits, custom_domains)
    tunnel_manager = None
    loop = asyncio.get_running_loop()
    stop_by = None  # when a stop must be done by, once one began
    try:
        ceiling = engine.runtime.open_files_ceiling
        if ceiling and options.limits.open_files > ceiling:
            raise StartupError(
                f"--open-files {options.limits.open_files} is more than the engine can give a "
                f"container: its own limit is {ceiling} open files; pass at most that, or "
                "raise the engine's limit (LimitNOFILE of its service)"
            )
        version = await engine.runtime.version()
        # Before serving, so that the first client finds the base image there.
        await _ensure_base_image(engine.runtime)
        await manager.start()
        engine.supervise(manager.engine_health, manager.reconciler.engine_service_restarted)
        tunnel_manager = tunnels.TunnelManager(
            manager,
            CertificateAuthority(state_dir, names=[tunnel_host.name, *custom_domains.all_suffixes()]),
            tunnel_host,
            state_dir,
        )
        await tunnel_manager.start()
        tokens = Tokens(store)
        service = SandboxService(manager, version, str(state_dir), tokens)
        service.tunnels = tunnel_manager
        service.stream_limits = StreamLimits(
            options.max_streams_per_sandbox, options.max_streams_per_environment
        )
        auth = TokenAuth(_token(options, state_dir), tokens) if options.listen else SocketAuth()
        interceptors = [auth, RejectMalformed()]
        server = grpc.aio.server(interceptors=interceptors, options=keepalive.SERVER_OPTIONS)
        pb_grpc.add_SandboxServiceServicer_to_server(service, server)
        address = _bind(server, options, state_dir)
        await server.start()
        if not options.listen:
            (options.socket or paths.default_socket()).chmod(0o600)
        log.info("serving on %s with %s %s (state in %s)", address, engine.runtime.name, version, state_dir)
        print(f"sbtui server listening on {address}", flush=True)

        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if ready is not None:
            ready.set()
        idle = asyncio.create_task(_idle_exit(options.idle_exit, service, manager, stop))
        await stop.wait()
        stop_by = loop.time() + options.stop_timeout
        log.info(
            "stopping: no new calls; the terminations under way get up to %g s to finish",
            options.stop_timeout,
        )
        idle.cancel()
        # Kills already asked for go on meanwhile; a terminate that waits gets its answer.
        await server.stop(grace=min(CALLS_GRACE, options.stop_timeout))
    finally:
        if tunnel_manager is not None:
            await tunnel_manager.stop()
        # A start that failed has no time for anything: what it leaves, the next start sees to.
        await manager.stop(0.0 if stop_by is None else max(0.0, stop_by - loop.time()))
        await engine.close()
        store.close()
        lock.close()


async def _ensure_base_image(runtime) -> None:
    try:
        await busybox_image.ensure(runtime)
    except EngineError as err:
        log.warning("could not prepare the %s image: %s", busybox_image.REF, err)


async def _idle_exit(
    limit: float, service: SandboxService, manager: SandboxManager, stop: asyncio.Event
) -> None:
    if limit <= 0:
        return
    while True:
        await asyncio.sleep(min(limit, 5.0) / 2)
        activity = service.activity
        idle_for = time.monotonic() - activity.last
        if activity.in_flight == 0 and manager.catalog.running_count() == 0 and idle_for >= limit:
            log.info("idle for %.0f s with no sandbox running: exiting", idle_for)
            stop.set()
            return
