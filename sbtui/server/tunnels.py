"""Tunnels: listeners of the server that carry connections into sandboxes' declared ports.

For every declared port the server listens on the tunnel host: over TLS, terminated here with a
certificate from the server's own CA (ALPN `h2` for h2 ports), and, for unencrypted ports, over
plain TCP as well. Each accepted connection is joined to the container's port at the container's
address on the engine's network. Listeners open when a sandbox runs and close when it finishes;
their port numbers are kept in the state directory, so a restarted server listens on the same
ones again when it can and a URL handed out before the restart keeps working.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import socket
import struct
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from sbtui.proto import sandbox_pb2 as pb
from sbtui.server import validation
from sbtui.server.background import Background
from sbtui.server.ca import CertificateAuthority
from sbtui.server.errors import ServiceError, precondition
from sbtui.server.events import EventBus, WatcherFellBehind
from sbtui.server.runtime.base import Dialer, EngineError
from sbtui.server.sandboxes import SandboxManager
from sbtui.server.store import SandboxRecord

log = logging.getLogger("sbtui.server.tunnels")

DEFAULT_HOST = "127.0.0.1"
PORTS_FILE = "tunnel-ports.json"
KINDS = (("encrypted_ports", "encrypted"), ("h2_ports", "h2"), ("unencrypted_ports", "unencrypted"))
BUFFER = 256 * 1024  # bytes read at once and buffered per direction
CONNECT_TIMEOUT = 10.0  # to reach the container's port for an accepted connection
HANDSHAKE_TIMEOUT = 30.0
PROBE_TIMEOUT = 1.0
RENEW_EVERY = 3600.0
# A client that vanishes without closing must not hold its sandbox's idle timeout off forever.
KEEPALIVE = tuple(
    (getattr(socket, name), value)
    for name, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 6))
    if hasattr(socket, name)
)


class TunnelHostError(Exception):
    """The tunnel host can't be used; the message says why."""


@dataclass(frozen=True)
class TunnelHost:
    bind: str  # the address listeners bind
    name: str  # the host put in URLs and certificates when a sandbox has no custom domain


def resolve_host(host: str) -> TunnelHost:
    """Check that `host` can be listened on; a name is bound at its first address."""
    try:
        infos = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise TunnelHostError(f"tunnel host {host!r} does not resolve: {err.strerror}") from None
    family, _, _, _, sockaddr = infos[0]
    bind = str(sockaddr[0])
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((bind, 0))
        except OSError as err:
            raise TunnelHostError(f"cannot listen on tunnel host {host!r} ({bind}): {err.strerror}") from None
    name = host
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).is_unspecified:
            # Listening everywhere: URLs need a name others can reach this machine by.
            name = socket.getfqdn()
    return TunnelHost(bind, name)


def declared_ports(params: pb.SandboxCreateParams) -> list[tuple[int, str]]:
    return [(port, kind) for field_name, kind in KINDS for port in getattr(params, field_name)]


# ---- one sandbox's listeners -----------------------------------------------------------------


def _port_of(server: asyncio.Server) -> int:
    return server.sockets[0].getsockname()[1]


@dataclass
class PortListener:
    container_port: int
    kind: str
    tls: asyncio.Server
    tls_port: int
    tcp: asyncio.Server | None = None
    tcp_port: int = 0


@dataclass
class SandboxListeners:
    sandbox_id: str
    dial: Dialer  # connects to a port of the sandbox's container (the runtime's)
    host_name: str  # the host in URLs and certificates
    ports: list[PortListener] = field(default_factory=list)
    connections: set[asyncio.Task] = field(default_factory=set)

    def to_pb(self) -> list[pb.Tunnel]:
        return [
            pb.Tunnel(
                container_port=p.container_port,
                host=self.host_name,
                port=p.tls_port,
                unencrypted_host=self.host_name if p.tcp else "",
                unencrypted_port=p.tcp_port,
                kind=p.kind,
            )
            for p in self.ports
        ]

    def close(self) -> list[asyncio.Task]:
        """Stop listening and end every open connection; returns the tasks to await."""
        for listener in self.ports:
            listener.tls.close()
            if listener.tcp:
                listener.tcp.close()
        tasks = list(self.connections)
        for task in tasks:
            task.cancel()
        return tasks


# ---- moving bytes ----------------------------------------------------------------------------


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(BUFFER):
        writer.write(data)
        await writer.drain()


async def _splice(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader,
    upstream_writer: asyncio.StreamWriter,
) -> None:
    """Copy both ways until both sides are done, passing each side's EOF on as a half-close.

    TLS can't be half-closed here (asyncio shuts a TLS connection down on close_notify and has
    no write_eof for it), so on a TLS client either side's EOF ends the whole connection, after
    the other side has been told.
    """
    plain_client = client_writer.can_write_eof()

    async def up() -> bool:  # client -> container
        await _pump(client_reader, upstream_writer)
        upstream_writer.write_eof()
        return plain_client  # a TLS client that sent close_notify can't receive any more

    async def down() -> bool:  # container -> client
        await _pump(upstream_reader, client_writer)
        if plain_client:
            client_writer.write_eof()
        return plain_client

    tasks = {asyncio.create_task(up()), asyncio.create_task(down())}
    try:
        pending = tasks
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task.exception() is not None or not task.result():
                    return
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _keepalive(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for option, value in KEEPALIVE:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)


def _reset(writer: asyncio.StreamWriter) -> None:
    """End a connection with a reset, not an orderly close: nothing listens in the sandbox, and
    a client should see that as it would connecting to the port itself, not as a program that
    accepted and closed (which a reachability check must tell apart)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def accepts(dial: Dialer, port: int, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether something accepts a TCP connection on `port` of what `dial` connects to."""
    try:
        _, writer = await asyncio.wait_for(dial(port), timeout)
    except (OSError, EngineError, asyncio.TimeoutError):
        return False
    writer.close()
    return True


# ---- port numbers kept across restarts --------------------------------------------------------


class PortBook:
    """sandbox id -> container port -> [TLS port, TCP port], in a JSON file of the state dir."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.entries: dict[str, dict[str, list[int]]] = json.loads(path.read_text())
        except (OSError, ValueError):
            self.entries = {}

    def get(self, sandbox_id: str, container_port: int) -> tuple[int, int]:
        tls, tcp = (self.entries.get(sandbox_id, {}).get(str(container_port)) or [0, 0])[:2]
        return int(tls), int(tcp)

    def put(self, listeners: SandboxListeners) -> None:
        self.entries[listeners.sandbox_id] = {
            str(p.container_port): [p.tls_port, p.tcp_port] for p in listeners.ports
        }
        self._save()

    def drop(self, sandbox_ids) -> None:
        if any(self.entries.pop(s, None) is not None for s in list(sandbox_ids)):
            self._save()

    def _save(self) -> None:
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        try:
            tmp.write_text(json.dumps(self.entries))
            os.replace(tmp, self.path)
        except OSError as err:
            log.warning("could not keep tunnel ports in %s: %s", self.path, err)


# ---- the manager -----------------------------------------------------------------------------


class TunnelManager:
    def __init__(
        self, manager: SandboxManager, ca: CertificateAuthority, host: TunnelHost, state_dir: Path
    ) -> None:
        self.manager = manager
        self.ca = ca
        self.host = host
        self._book = PortBook(state_dir / PORTS_FILE)
        self._open: dict[str, SandboxListeners] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks = Background("tunnel task")

    # ---- start and stop ---------------------------------------------------------------

    async def start(self) -> None:
        queue = self.manager.events.subscribe()
        # Subscribed first, so nothing that starts or ends from here on goes unseen.
        await self._sync()
        self._tasks.spawn(self._follow(queue), "tunnel-events")
        self._tasks.spawn(self._renew(), "tunnel-certificates")

    async def stop(self) -> None:
        self._tasks.cancel()
        await asyncio.gather(*self._tasks.tasks, return_exceptions=True)
        pending = [task for opened in self._open.values() for task in opened.close()]
        self._open.clear()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _sync(self) -> None:
        """Listen for every running sandbox with ports; close what belongs to no running one."""
        live = {
            r.sandbox_id: r
            for r in self.manager.catalog.sandboxes.values()
            if not r.finished and declared_ports(r.params)
        }
        for sandbox_id in [s for s in self._open if s not in live]:
            self._close(sandbox_id)
        self._book.drop([s for s in self._book.entries if s not in live])
        running = [r for r in live.values() if r.state == pb.SANDBOX_STATE_RUNNING]
        results = await asyncio.gather(*(self._ensure(r) for r in running), return_exceptions=True)
        for record, result in zip(running, results):
            if isinstance(result, BaseException):
                log.warning("tunnels of sandbox %s: %s", record.sandbox_id, result)

    async def _follow(self, queue: asyncio.Queue) -> None:
        while True:
            try:
                event = await EventBus.next(queue)
            except WatcherFellBehind:
                self.manager.events.unsubscribe(queue)
                queue = self.manager.events.subscribe()
                await self._sync()
                continue
            info = event.sandbox
            if event.kind == pb.SandboxEvent.EXITED:
                self._close(info.sandbox_id)
            elif (
                event.kind == pb.SandboxEvent.STATE_CHANGED
                and info.state == pb.SANDBOX_STATE_RUNNING
                and declared_ports(info.params)
            ):
                record = self.manager.catalog.sandboxes.get(info.sandbox_id)
                if record is not None:
                    self._tasks.spawn(self._ensure_logged(record))

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY)
            if renewed := self.ca.renew_due():
                log.info("renewed %d tunnel certificate(s)", renewed)

    # ---- listeners --------------------------------------------------------------------

    async def _ensure_logged(self, record: SandboxRecord) -> None:
        try:
            await self._ensure(record)
        except (ServiceError, EngineError, OSError) as err:
            log.warning("tunnels of sandbox %s: %s", record.sandbox_id, err)

    async def _ensure(self, record: SandboxRecord) -> SandboxListeners:
        sandbox_id = record.sandbox_id
        lock = self._locks.setdefault(sandbox_id, asyncio.Lock())
        async with lock:
            opened = self._open.get(sandbox_id)
            if opened is not None:
                return opened
            self._check_running(record)
            dial = await self.manager.runtime.dialer(record.container_id)
            if dial is None:
                raise precondition(
                    f"sandbox {sandbox_id} has no address on the engine's network, so its "
                    "ports can't be reached"
                )
            opened = SandboxListeners(sandbox_id, dial, record.params.custom_domain or self.host.name)
            try:
                for port, kind in declared_ports(record.params):
                    opened.ports.append(await self._listen_port(opened, port, kind))
            except BaseException:
                opened.close()
                raise
            if record.finished:  # it ended while we were opening
                opened.close()
                self._check_running(record)
            self._open[sandbox_id] = opened
            self._book.put(opened)
            log.info(
                "tunnels of sandbox %s: %s",
                sandbox_id,
                ", ".join(
                    f"{p.container_port} -> {self.host.bind}:{p.tls_port}"
                    + (f" (tcp {p.tcp_port})" if p.tcp else "")
                    for p in opened.ports
                ),
            )
            return opened

    async def _listen_port(self, opened: SandboxListeners, port: int, kind: str) -> PortListener:
        tls_port, tcp_port = self._book.get(opened.sandbox_id, port)
        context = self.ca.server_context(opened.host_name, ("h2",) if kind == "h2" else ())

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._join(opened, port, reader, writer)

        tls = await self._listen(handle, tls_port, context)
        listener = PortListener(port, kind, tls, _port_of(tls))
        if kind == "unencrypted":
            try:
                listener.tcp = await self._listen(handle, tcp_port, None)
            except BaseException:
                listener.tls.close()
                raise
            listener.tcp_port = _port_of(listener.tcp)
        return listener

    async def _listen(self, handle, preferred: int, context) -> asyncio.Server:
        extra = {"ssl": context, "ssl_handshake_timeout": HANDSHAKE_TIMEOUT} if context else {}
        if preferred:
            try:
                return await asyncio.start_server(handle, self.host.bind, preferred, limit=BUFFER, **extra)
            except OSError as err:
                log.info(
                    "tunnel port %d is not free any more (%s); taking a new one", preferred, err.strerror
                )
        return await asyncio.start_server(handle, self.host.bind, 0, limit=BUFFER, **extra)

    def _close(self, sandbox_id: str) -> None:
        self._locks.pop(sandbox_id, None)
        self._book.drop([sandbox_id])
        opened = self._open.pop(sandbox_id, None)
        if opened is not None:
            opened.close()
            log.info("tunnels of sandbox %s closed", sandbox_id)

    async def _join(
        self,
        opened: SandboxListeners,
        port: int,
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
    ) -> None:
        task = asyncio.current_task()
        assert task is not None  # a connection's handler runs in a task of its own
        opened.connections.add(task)
        self.manager.activity.tunnel_connection_opened(opened.sandbox_id)
        upstream_writer = None
        try:
            _keepalive(client_writer)
            try:
                upstream_reader, upstream_writer = await asyncio.wait_for(opened.dial(port), CONNECT_TIMEOUT)
            except (OSError, EngineError, asyncio.TimeoutError) as err:
                log.debug("sandbox %s port %d: %s", opened.sandbox_id, port, err)
                _reset(client_writer)
                return
            await _splice(client_reader, client_writer, upstream_reader, upstream_writer)
        except (OSError, asyncio.CancelledError):
            pass  # a side went away, or the sandbox ended: close both
        finally:
            for writer in (client_writer, upstream_writer):
                if writer is not None:
                    writer.close()
            opened.connections.discard(task)
            self.manager.activity.tunnel_connection_closed(opened.sandbox_id)

    # ---- SandboxTunnels ---------------------------------------------------------------

    @staticmethod
    def _check_running(record: SandboxRecord) -> None:
        if record.finished:
            ended = f" (exit code {record.exit_code})" if record.exit_code is not None else ""
            raise precondition(f"sandbox {record.sandbox_id} has finished{ended}; its tunnels are closed")
        if record.state == pb.SANDBOX_STATE_TERMINATING:
            raise precondition(f"sandbox {record.sandbox_id} is terminating; its tunnels are closing")

    async def tunnels(self, sandbox_id: str, timeout: float) -> list[pb.Tunnel]:
        """The sandbox's tunnels once every declared port accepts connections.

        `timeout` is how long to wait for that; 0 checks once without waiting.
        """
        record = self.manager.catalog.get(sandbox_id)
        validation.check_seconds("timeout", timeout)
        ports = declared_ports(record.params)
        if not ports:
            raise precondition(
                f"sandbox {sandbox_id} declared no ports; give encrypted_ports, h2_ports "
                "or unencrypted_ports when creating it"
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        delay = 0.02
        while record.state == pb.SANDBOX_STATE_CREATING and loop.time() < deadline:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.25)
        if record.state == pb.SANDBOX_STATE_CREATING:
            raise ServiceError(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"sandbox {sandbox_id} was still starting after {timeout:g} s; its tunnels are not ready",
            )
        self._check_running(record)
        opened = await self._ensure(record)
        pending = [port for port, _ in ports]
        delay = 0.02
        while True:
            probe_for = max(0.05, min(PROBE_TIMEOUT, deadline - loop.time()))
            ready = await asyncio.gather(*(accepts(opened.dial, p, probe_for) for p in pending))
            pending = [p for p, ok in zip(pending, ready) if not ok]
            self._check_running(record)
            if not pending:
                return opened.to_pb()
            left = deadline - loop.time()
            if left <= 0:
                break
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 1.5, 0.25)
        kinds = dict(ports)
        listed = ", ".join(f"{p} ({kinds[p]})" for p in pending)
        raise ServiceError(
            grpc.StatusCode.DEADLINE_EXCEEDED,
            f"tunnels of sandbox {sandbox_id} not ready within {timeout:g} s: nothing in the "
            f"sandbox accepts connections on port{'s' if len(pending) > 1 else ''} {listed}; "
            "start a server there listening on all interfaces (0.0.0.0), not only loopback",
        )
