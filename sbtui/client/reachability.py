"""Reachability of tunnels: does a connection get through to the sandbox's port right now?

A tunnel's socket accepts connections for as long as the server listens, whatever happens in
the sandbox: the server joins each connection it accepts to the container's port, and resets it
when nothing listens there. So a check connects (over TLS it also completes the handshake,
verified against the server's CA, with ALPN h2 for h2 ports), then gives the server a moment to
reset the connection: one still open then, or one the sandbox's program wrote to or closed, got
through. The time reported is the connect (and handshake): what a client waits before it can
send.

    pem = await client.ca_certificate()
    for result in await check_tunnels(tunnels.values(), pem):
        print(result.tunnel.container_port, result.tls, result.tcp)
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Iterable

from sbtui.client.models import Tunnel

TIMEOUT = 3.0  # seconds to connect (and shake hands) before a socket counts as timed out
SETTLE = 0.5  # seconds the server gets to reset a connection it cannot carry into the sandbox


@dataclass(frozen=True)
class Reach:
    """How one socket answered: reachable in `ms` milliseconds, or not, with `error` saying why."""

    host: str
    port: int
    ms: float | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    def __str__(self) -> str:
        return f"reachable in {self.ms:.0f} ms" if self.ok else self.error


@dataclass(frozen=True)
class TunnelReach:
    """The check of one tunnel: its TLS socket, and its TCP socket if it has one."""

    tunnel: Tunnel
    tls: Reach
    tcp: Reach | None = None  # only unencrypted ports have a plain TCP socket

    @property
    def ok(self) -> bool:
        return self.tls.ok and (self.tcp is None or self.tcp.ok)


async def check_tunnels(
    tunnels: Iterable[Tunnel], ca_pem: str, *, timeout: float = TIMEOUT
) -> list[TunnelReach]:
    """Check every socket of every tunnel, all at once; results in the order given."""
    return list(await asyncio.gather(*(check_tunnel(t, ca_pem, timeout=timeout) for t in tunnels)))


async def check_tunnel(tunnel: Tunnel, ca_pem: str, *, timeout: float = TIMEOUT) -> TunnelReach:
    """Check the tunnel's TLS socket, and its TCP socket if it has one, at the same time."""
    host, port = tunnel.tls_socket()
    tls = check_tls(
        host,
        port,
        ca_pem,
        alpn="h2" if tunnel.kind == "h2" else None,
        timeout=timeout,
        container_port=tunnel.container_port,
    )
    if not tunnel.unencrypted_port:
        return TunnelReach(tunnel, await tls)
    tcp = check_tcp(*tunnel.tcp_socket(), timeout=timeout, container_port=tunnel.container_port)
    tls_reach, tcp_reach = await asyncio.gather(tls, tcp)
    return TunnelReach(tunnel, tls_reach, tcp_reach)


async def check_tcp(host: str, port: int, *, timeout: float = TIMEOUT, container_port: int = 0) -> Reach:
    """Connect over plain TCP."""
    return await _check(host, port, None, None, timeout, container_port)


async def check_tls(
    host: str,
    port: int,
    ca_pem: str,
    *,
    alpn: str | None = None,
    timeout: float = TIMEOUT,
    container_port: int = 0,
) -> Reach:
    """Connect over TLS, verifying the certificate for `host` against `ca_pem`; with `alpn`,
    the server must choose that protocol."""
    try:
        context = ssl.create_default_context(cadata=ca_pem)
    except (ssl.SSLError, ValueError) as err:
        return Reach(host, port, error=f"TLS failure: the CA certificate is not usable: {err}")
    if alpn:
        context.set_alpn_protocols([alpn])
    return await _check(host, port, context, alpn, timeout, container_port)


async def _check(
    host: str,
    port: int,
    context: ssl.SSLContext | None,
    alpn: str | None,
    timeout: float,
    container_port: int,
) -> Reach:
    writer = None
    start = time.perf_counter()
    try:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=context), timeout)
        except asyncio.TimeoutError:
            return Reach(host, port, error=f"timed out after {timeout:g} s")
        ms = (time.perf_counter() - start) * 1000
        if alpn and writer.get_extra_info("ssl_object").selected_alpn_protocol() != alpn:
            return Reach(host, port, error=f"TLS failure: the server did not choose {alpn} (ALPN)")
        try:
            await asyncio.wait_for(reader.read(1), SETTLE)
        except asyncio.TimeoutError:
            pass  # still open: the server got through to the sandbox's port
        return Reach(host, port, ms)
    except ConnectionResetError:
        # Refused connections are refused at connect; a reset comes from the server after it
        # accepted, when the sandbox's port refused it in turn.
        where = f"port {container_port}" if container_port else "the port"
        return Reach(host, port, error=f"nothing listens on {where} in the sandbox")
    except ConnectionRefusedError:
        return Reach(host, port, error="connection refused: the tunnel is closed")
    except ssl.SSLCertVerificationError as err:
        return Reach(host, port, error=f"TLS failure: {err.verify_message or err.reason}")
    except ssl.SSLError as err:
        reason = (err.reason or "").lower().replace("_", " ") or str(err)
        return Reach(host, port, error=f"TLS failure: {reason}")
    except socket.gaierror as err:
        return Reach(host, port, error=f"cannot resolve {host}: {err.strerror}")
    except OSError as err:
        return Reach(host, port, error=err.strerror or str(err))
    finally:
        if writer is not None:
            writer.close()
