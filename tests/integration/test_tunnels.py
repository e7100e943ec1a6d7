"""Tunnels against a real server and engine: TCP, TLS verified against the server's CA, ALPN h2,
readiness, idle timeouts, sandbox ends and server restarts (custom domains: test_custom_domains.py).

Inside the sandboxes busybox serves the ports: `nc -ll -p PORT -e cat` echoes each connection
until its client half-closes. Traffic goes only to loopback (the tunnels) and into these sandboxes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import ssl
import stat
import time

import grpc
import pytest
from cryptography import x509

import sbtui
from sbtui.client import (
    FailedPreconditionError,
    InvalidArgumentError,
    NoTcpSocketError,
    SandboxState,
    SandboxTimeoutError,
    TerminationReason,
)
from sbtui.client.reachability import check_tcp, check_tls, check_tunnels
from sbtui.proto import sandbox_pb2 as pb
from sbtui.proto import sandbox_pb2_grpc as pb_grpc
from sbtui.server.ca import CertificateAuthority
from tests.servers import IMAGE, ServerProcess, new_state_dir, until

READY = 30  # seconds a tunnel may take to become ready; they take milliseconds


def echo(*ports: int) -> list[str]:
    """A main command serving every port with an echo that ends on the client's half-close."""
    servers = " ".join(f"nc -ll -p {port} -e cat &" for port in ports)
    return ["sh", "-c", f"{servers} wait"]


@contextlib.asynccontextmanager
async def running(client, app, image, **params):
    params.setdefault("timeout", 120)
    sb = await client.sandboxes.create(app, image, **params)
    try:
        yield sb
    finally:
        with contextlib.suppress(sbtui.client.SbtuiError):
            await sb.terminate()


async def _deadline(coro, seconds: float = 15):
    return await asyncio.wait_for(coro, seconds)


async def round_trip(host: str, port: int, payload: bytes, **tls) -> bytes:
    """Send `payload` and read the echo until the server ends it.

    Plain TCP half-closes after sending, which is what ends `cat`; TLS can't half-close, so
    there the echo is read back by length."""
    reader, writer = await asyncio.open_connection(host, port, **tls)
    try:

        async def send() -> None:
            writer.write(payload)
            await writer.drain()
            if not tls:
                writer.write_eof()

        sender = asyncio.create_task(send())
        received = await _deadline(reader.read() if not tls else reader.readexactly(len(payload)))
        await sender
        return received
    finally:
        writer.close()


def verifying(pem: str, alpn: list[str] | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=pem)  # verifies the chain and the host name
    if alpn:
        context.set_alpn_protocols(alpn)
    return context


async def refused(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
    except ConnectionRefusedError:
        return True
    except ConnectionResetError:
        return False  # taken into the backlog of a listener that is closing: not yet closed
    writer.close()
    return False


async def _not(check) -> bool:
    return not await check


async def echoes(host: str, port: int) -> bool:
    """Whether a plain tunnel reaches an echo server (else the tunnel closes at once)."""
    try:
        return await round_trip(host, port, b"?\n") == b"?\n"
    except OSError:
        return False


async def listening(sb, port: int) -> bool:
    """Whether anything in the sandbox listens on `port` (its /proc/net/tcp and tcp6)."""
    p = await sb.exec(["cat", "/proc/net/tcp", "/proc/net/tcp6"])
    table = (await p.stdout.read()).decode()
    await p.wait()
    wanted = f":{port:04X}"
    return any(
        f[1].endswith(wanted) and f[3] == "0A"  # 0A: LISTEN
        for f in (line.split() for line in table.splitlines()[1:])
        if len(f) > 3
    )


async def _count(client, app) -> int:
    return len([s async for s in client.sandboxes.list(app_id=app.app_id, include_finished=True)])


# ---- kinds of tunnel -------------------------------------------------------------------------


async def test_tcp_tunnel_round_trip_with_half_close(client, app, image):
    async with running(client, app, image, command=echo(8080), unencrypted_ports=[8080]) as sb:
        tunnels = await sb.tunnels(timeout=READY)
        assert list(tunnels) == [8080]
        tunnel = tunnels[8080]
        assert tunnel.kind == "unencrypted" and tunnel.container_port == 8080
        host, port = tunnel.tcp_socket()
        assert host == "127.0.0.1" and port != tunnel.port
        assert tunnel.url == f"https://127.0.0.1:{tunnel.port}"
        # 4 MiB both ways at once, every byte checked; `cat` only ends when our EOF reaches it.
        payload = os.urandom(4 * 1024 * 1024)
        assert await round_trip(host, port, payload) == payload
        # An unencrypted port is served over TLS as well.
        pem = await client.ca_certificate()
        assert await round_trip(*tunnel.tls_socket(), b"over tls\n", ssl=verifying(pem)) == b"over tls\n"


async def test_tls_tunnel_is_verified_against_the_servers_ca(client, app, image, server):
    async with running(client, app, image, command=echo(8443), encrypted_ports=[8443]) as sb:
        tunnel = (await sb.tunnels(timeout=READY))[8443]
        assert tunnel.kind == "encrypted" and tunnel.unencrypted_port == 0
        pem = await client.ca_certificate()
        host, port = tunnel.tls_socket()
        payload = os.urandom(1024 * 1024)
        assert await round_trip(host, port, payload, ssl=verifying(pem)) == payload
        # Offered h2, an encrypted (not h2) port negotiates no ALPN protocol.
        _, writer = await asyncio.open_connection(host, port, ssl=verifying(pem, ["h2", "http/1.1"]))
        assert writer.get_extra_info("ssl_object").selected_alpn_protocol() is None
        writer.close()
        # Without the server's CA the certificate is not trusted: the verification is real.
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.open_connection(host, port, ssl=ssl.create_default_context())


async def test_ca_certificate_is_the_servers_own_and_kept_private(client, server):
    pem = await client.ca_certificate()
    ca = x509.load_pem_x509_certificate(pem.encode())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert (server.state_dir / "ca" / "ca.pem").read_text() == pem
    key = server.state_dir / "ca" / "ca.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert await client.ca_certificate() == pem


async def test_h2_tunnel_negotiates_alpn_h2(client, app, image):
    async with running(client, app, image, command=echo(9443), h2_ports=[9443]) as sb:
        tunnel = (await sb.tunnels(timeout=READY))[9443]
        assert tunnel.kind == "h2"
        pem = await client.ca_certificate()
        reader, writer = await asyncio.open_connection(
            *tunnel.tls_socket(), ssl=verifying(pem, ["http/1.1", "h2"])
        )
        try:
            assert writer.get_extra_info("ssl_object").selected_alpn_protocol() == "h2"
            preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
            writer.write(preface)
            assert await _deadline(reader.readexactly(len(preface))) == preface
        finally:
            writer.close()


async def test_tcp_socket_of_an_encrypted_only_port_raises_clearly(client, app, image):
    async with running(
        client, app, image, command=echo(8443, 9443), encrypted_ports=[8443], h2_ports=[9443]
    ) as sb:
        tunnels = await sb.tunnels(timeout=READY)
        for port, kind in ((8443, "encrypted"), (9443, "h2")):
            with pytest.raises(
                NoTcpSocketError,
                match=rf"port {port} \(declared in {kind}_ports\) "
                "has no plain TCP socket.*declare the port in unencrypted_ports",
            ):
                tunnels[port].tcp_socket()
        assert issubclass(NoTcpSocketError, ValueError)


# ---- readiness -------------------------------------------------------------------------------


async def test_tunnels_wait_for_the_ports_and_time_out_naming_them(client, app, image):
    async with running(client, app, image, unencrypted_ports=[8080], encrypted_ports=[8443]) as sb:
        started = time.monotonic()
        with pytest.raises(SandboxTimeoutError) as caught:
            await sb.tunnels(timeout=1)
        assert 1 <= time.monotonic() - started < 10
        message = str(caught.value)
        assert "not ready within 1 s" in message
        assert "8080 (unencrypted)" in message and "8443 (encrypted)" in message
        # Asked again, it waits: the ports become ready while it does.
        waiting = asyncio.create_task(sb.tunnels(timeout=READY))
        await asyncio.sleep(0)
        server = await sb.exec(["sh", "-c", "nc -ll -p 8080 -e cat & nc -ll -p 8443 -e cat & wait"])
        try:
            tunnels = await _deadline(waiting, READY + 5)
            assert sorted(tunnels) == [8080, 8443]
            assert await round_trip(*tunnels[8080].tcp_socket(), b"late\n") == b"late\n"
            assert await listening(sb, 8443)
        finally:
            await server.close()  # the server then kills what it started, soon after
        await until(lambda: _not(listening(sb, 8443)), READY, "the first server of 8443 gone")
        # Only the ports not ready are named.
        server = await sb.exec(["nc", "-ll", "-p", "8080", "-e", "cat"])
        try:
            tcp = tunnels[8080].tcp_socket()
            await until(lambda: echoes(*tcp), READY, "port 8080 to be served again")
            with pytest.raises(SandboxTimeoutError) as caught:
                await sb.tunnels(timeout=0.5)
            assert "on port 8443 (encrypted);" in str(caught.value)
            assert "8080" not in str(caught.value)
        finally:
            await server.close()


async def test_tunnels_of_a_sandbox_without_ports_or_unknown(client, sandbox, server):
    with pytest.raises(FailedPreconditionError, match="declared no ports; give encrypted_ports"):
        await sandbox.tunnels(timeout=1)
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = pb_grpc.SandboxServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.SandboxTunnels(pb.SandboxTunnelsRequest(sandbox_id="sb-nope", timeout=1))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        assert "sandbox 'sb-nope' does not exist" in caught.value.details()
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.SandboxTunnels(pb.SandboxTunnelsRequest(sandbox_id=sandbox.sandbox_id, timeout=-1))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "timeout: must not be negative" in caught.value.details()


# ---- reachability ----------------------------------------------------------------------------


async def test_reachability_check_tells_served_ports_from_ones_nothing_listens_on(
    client, app, image, tmp_path
):
    # Every port is served until the tunnels are ready; then the server of 9090 is stopped.
    command = [
        "sh",
        "-c",
        "nc -ll -p 8080 -e cat & nc -ll -p 8443 -e cat & nc -ll -p 9443 -e cat & "
        "nc -ll -p 9090 -e cat & echo $! > /tmp/9090.pid; wait",
    ]
    async with running(
        client,
        app,
        image,
        command=command,
        unencrypted_ports=[8080, 9090],
        encrypted_ports=[8443],
        h2_ports=[9443],
    ) as sb:
        tunnels = await sb.tunnels(timeout=READY)
        pem = await client.ca_certificate()
        stop = await sb.exec(["sh", "-c", "kill $(cat /tmp/9090.pid)"])
        assert await stop.wait() == 0
        gone = tunnels[9090]
        await until(lambda: _refused_in_sandbox(gone), READY, "port 9090 to stop being served")

        results = {r.tunnel.container_port: r for r in await check_tunnels(tunnels.values(), pem)}
        assert sorted(p for p, r in results.items() if r.ok) == [8080, 8443, 9443]
        served = results[8080]
        for reach, socket_ in (
            (served.tls, tunnels[8080].tls_socket()),
            (served.tcp, tunnels[8080].tcp_socket()),
        ):
            assert (reach.host, reach.port) == socket_
            assert 0 < reach.ms < 3000 and str(reach) == f"reachable in {reach.ms:.0f} ms"
        assert results[8443].tcp is None and results[9443].tcp is None  # TLS-only ports
        failed = results[9090]
        assert not failed.ok
        assert str(failed.tls) == str(failed.tcp) == "nothing listens on port 9090 in the sandbox"

        # Verified against another CA, the certificate is refused.
        other = CertificateAuthority(tmp_path, names=["127.0.0.1"]).pem
        untrusted = await check_tls(*tunnels[8443].tls_socket(), other)
        assert untrusted.error.startswith("TLS failure: ") and "certificate" in untrusted.error

        # Once the sandbox has ended, its tunnels are closed.
        await sb.terminate(wait=True)
        tcp = tunnels[8080].tcp_socket()
        closed = await until(lambda: _closed(*tcp), 10, "the tunnel to close")
        assert closed.error == "connection refused: the tunnel is closed"


async def _refused_in_sandbox(tunnel) -> bool:
    reach = await check_tcp(*tunnel.tcp_socket(), container_port=tunnel.container_port)
    return reach.error == f"nothing listens on port {tunnel.container_port} in the sandbox"


async def _closed(host: str, port: int):
    reach = await check_tcp(host, port)
    return reach if reach.error.startswith("connection refused") else None


# ---- lifecycle -------------------------------------------------------------------------------


async def test_an_open_tunnel_connection_keeps_an_idle_sandbox_alive(client, app, image):
    idle = 3.0
    async with running(
        client, app, image, command=echo(8080), unencrypted_ports=[8080], idle_timeout=idle
    ) as sb:
        tunnel = (await sb.tunnels(timeout=READY))[8080]
        reader, writer = await asyncio.open_connection(*tunnel.tcp_socket())
        opened = time.time()
        # The condition is the wall clock passing well beyond the idle timeout while the
        # connection is open and silent.
        while time.time() < opened + 2.5 * idle:
            assert await sb.poll() is None, "the sandbox ended although a tunnel connection was open"
            await asyncio.sleep(0.25)
        assert (await sb.refresh()).state == SandboxState.RUNNING
        writer.write(b"still there\n")
        assert await _deadline(reader.readline()) == b"still there\n"
        writer.close()
        closed = time.time()
        with pytest.raises(SandboxTimeoutError, match="idle timeout"):
            await _deadline(sb.wait(), idle + 20)
        info = await sb.refresh()
        assert info.termination_reason == TerminationReason.IDLE_TIMEOUT
        # The idle clock started again when the connection closed.
        assert info.finished_at >= closed + idle - 0.5


async def test_listeners_close_when_the_sandbox_ends(client, app, image):
    async with running(
        client, app, image, command=echo(8080, 8443), unencrypted_ports=[8080], encrypted_ports=[8443]
    ) as sb:
        tunnels = await sb.tunnels(timeout=READY)
        reader, writer = await asyncio.open_connection(*tunnels[8080].tcp_socket())
        writer.write(b"hi\n")
        assert await _deadline(reader.readline()) == b"hi\n"
        await sb.terminate(wait=True)
        # The open connection is ended, and nothing listens on the tunnel ports any more.
        try:
            assert await _deadline(reader.read()) == b""
        except ConnectionResetError:
            pass
        writer.close()
        for host, port in (
            tunnels[8080].tcp_socket(),
            tunnels[8080].tls_socket(),
            tunnels[8443].tls_socket(),
        ):
            await until(lambda: refused(host, port), 10, f"the tunnel port {port} to close")
        with pytest.raises(FailedPreconditionError, match="has finished .*its tunnels are closed"):
            await sb.tunnels(timeout=1)


@pytest.fixture
def own_server(engine):
    proc = ServerProcess(engine, new_state_dir(engine + "-tunnels")).start()
    yield proc
    proc.dispose()


@pytest.mark.parametrize("how", ["graceful", "kill -9"])
async def test_tunnels_come_back_after_a_server_restart(own_server, how):
    async with sbtui.Client.connect(own_server.address) as client:
        app = await client.apps.from_name("tunnels", create_if_missing=True)
        sb = await client.sandboxes.create(
            app,
            client.images.from_registry(IMAGE),
            command=echo(8080, 8443),
            timeout=120,
            unencrypted_ports=[8080],
            encrypted_ports=[8443],
        )
        before = await sb.tunnels(timeout=READY)
        pem = await client.ca_certificate()
    own_server.kill() if how == "kill -9" else own_server.stop()
    own_server.start()
    # Listening again at start, before anyone asks, on the same ports, with the same CA.
    tcp = before[8080].tcp_socket()
    assert await round_trip(*tcp, b"back\n") == b"back\n"
    tls = before[8443].tls_socket()
    assert await round_trip(*tls, b"secure\n", ssl=verifying(pem)) == b"secure\n"
    async with sbtui.Client.connect(own_server.address) as client:
        assert await client.ca_certificate() == pem
        sb = await client.sandboxes.from_id(sb.sandbox_id)
        assert await sb.tunnels(timeout=READY) == before
        await sb.terminate(wait=True)


async def test_tunnel_host_option_names_urls_and_certificates(engine):
    proc = ServerProcess(
        engine, new_state_dir(engine + "-tunnel-host"), extra=["--tunnel-host", "localhost"]
    ).start()
    try:
        async with sbtui.Client.connect(proc.address) as client:
            app = await client.apps.from_name("tunnel-host", create_if_missing=True)
            sb = await client.sandboxes.create(
                app,
                client.images.from_registry(IMAGE),
                command=echo(8443),
                timeout=60,
                encrypted_ports=[8443],
            )
            tunnel = (await sb.tunnels(timeout=READY))[8443]
            assert tunnel.host == "localhost" and tunnel.url == f"https://localhost:{tunnel.port}"
            pem = await client.ca_certificate()
            assert await round_trip(*tunnel.tls_socket(), b"named\n", ssl=verifying(pem)) == b"named\n"
            await sb.terminate(wait=True)
    finally:
        proc.dispose()


def test_a_tunnel_host_that_cannot_be_bound_stops_the_server_at_start():
    state_dir = new_state_dir("bad-tunnel-host")
    try:
        # 192.0.2.1 is TEST-NET-1: no interface here has it, so binding fails (nothing is sent).
        out = ServerProcess("auto", state_dir, extra=["--tunnel-host", "192.0.2.1"]).run_refused()
        assert out.returncode == 1
        assert "cannot listen on tunnel host '192.0.2.1'" in out.stderr
        assert "pass another --tunnel-host" in out.stderr
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


# ---- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, field, words",
    [
        ({"h2_ports": [0]}, "h2_ports", "port 0 is outside 1-65535"),
        ({"encrypted_ports": [70000]}, "encrypted_ports", "port 70000 is outside 1-65535"),
        ({"unencrypted_ports": [-1]}, "unencrypted_ports", "outside 1-65535"),
        (
            {"encrypted_ports": [8080], "unencrypted_ports": [8080]},
            "unencrypted_ports",
            "port 8080 is also listed in encrypted_ports",
        ),
        ({"h2_ports": [8443, 8443]}, "h2_ports", "port 8443 is also listed in h2_ports"),
        (
            {"encrypted_ports": list(range(1, 61)), "unencrypted_ports": list(range(61, 102))},
            "unencrypted_ports",
            "101 ports are declared; a sandbox may declare at most 100",
        ),
        ({"block_network": True, "h2_ports": [8443]}, "h2_ports", "cannot be used with block_network"),
        ({"block_network": True, "unencrypted_ports": [8080]}, "unencrypted_ports", "block_network"),
        ({"custom_domain": "bad domain", "encrypted_ports": [1]}, "custom_domain", "not a DNS name"),
        ({"custom_domain": "-x.test", "encrypted_ports": [1]}, "custom_domain", "not a DNS name"),
        ({"custom_domain": "x.test.", "encrypted_ports": [1]}, "custom_domain", "no trailing dot"),
        ({"custom_domain": "10.0.0.1", "encrypted_ports": [1]}, "custom_domain", "give a DNS name"),
        ({"custom_domain": "a" * 64 + ".test", "encrypted_ports": [1]}, "custom_domain", "1-63"),
        ({"custom_domain": "x.test"}, "custom_domain", "no port is declared"),
    ],
)
async def test_bad_tunnel_parameters_name_the_field(client, app, image, params, field, words):
    with pytest.raises(InvalidArgumentError) as caught:
        await client.sandboxes.create(app, image, **params)
    assert str(caught.value).startswith(f"{field}: ") and words in str(caught.value)
    assert await _count(client, app) == 0
