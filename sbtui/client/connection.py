"""Where the client connects and how: address forms, TLS, the token, retries of safe calls."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import grpc

from sbtui import keepalive
from sbtui.client.errors import ConnectionLostError, InvalidArgumentError, from_rpc_error
from sbtui.proto import sandbox_pb2_grpc as pb_grpc

# Keepalive makes a vanished server an error within seconds instead of a hang; the server
# accepts these pings (sbtui/keepalive.py).
CHANNEL_OPTIONS = [
    *keepalive.CLIENT_OPTIONS,
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    # A channel of its own: gRPC otherwise shares connections, and their reconnect backoff,
    # between channels to the same address, so a restarted server would look down for seconds.
    ("grpc.use_local_subchannel_pool", 1),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1_000),
]
# PTY sessions get a connection of their own whose receive window stays at HTTP/2's 64 KiB:
# with BDP probing on, gRPC grows it to megabytes, and in an output flood all of that is
# already on its way when ctrl+c is pressed, to be drawn before the prompt (benchmarks/echo.py,
# dashboard, p50: 0.46-0.75 s, 25-140 ms with the small window). A terminal needs no more; bulk
# output keeps the growing window of the main connection.
TERMINAL_CHANNEL_OPTIONS = [*CHANNEL_OPTIONS, ("grpc.http2.bdp_probe", 0)]
RETRY_DELAYS = (0.1, 0.3, 0.9)
# gRPC fails a call at once while its channel waits out a reconnect backoff, even when the
# server is back by then; a call first waits this long for the channel to reconnect, which is
# more than the longest backoff (1 s, give or take its 20 % jitter).
RECONNECT_WAIT = 2.0


def parse_address(address: str) -> tuple[str, bool]:
    """(grpc target, use TLS) for 'unix:/path', '/path', 'HOST:PORT' or 'tls://HOST:PORT'."""
    if address.startswith("unix:"):
        return address, False
    if address.startswith("/"):
        return f"unix://{address}", False
    if address.startswith("tls://"):
        return address[len("tls://") :], True
    if address.startswith(("http://", "https://", "tcp://")):
        raise InvalidArgumentError(
            f"server address {address!r}: use HOST:PORT, tls://HOST:PORT or unix:/path"
        )
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise InvalidArgumentError(
            f"server address {address!r}: use HOST:PORT, tls://HOST:PORT or unix:/path"
        )
    return address, False


class Connection:
    def __init__(self, address: str, token: str | None, ca_cert: str | Path | None) -> None:
        target, tls = parse_address(address)
        self.address = address
        if tls:
            ca = ca_cert or os.environ.get("SBTUI_CA")
            root = Path(ca).read_bytes() if ca else None
            credentials = grpc.ssl_channel_credentials(root)
            open_channel = lambda options: grpc.aio.secure_channel(target, credentials, options=options)  # noqa: E731
        else:
            open_channel = lambda options: grpc.aio.insecure_channel(target, options=options)  # noqa: E731
        self.channel = open_channel(CHANNEL_OPTIONS)
        self.stub = pb_grpc.SandboxServiceStub(self.channel)
        # gRPC connects a channel only when it is first used.
        self.terminal_channel = open_channel(TERMINAL_CHANNEL_OPTIONS)
        self.terminal_stub = pb_grpc.SandboxServiceStub(self.terminal_channel)
        self.metadata = (("authorization", f"Bearer {token}"),) if token else ()

    async def reconnected(self, channel: grpc.aio.Channel | None = None) -> None:
        """After a lost connection, wait (at most RECONNECT_WAIT) for the channel (the main
        one unless given) to connect again, so that a call made once the server is back
        reaches it."""
        channel = channel or self.channel
        if channel.get_state() != grpc.ChannelConnectivity.TRANSIENT_FAILURE:
            return  # connected, or gRPC connects (and waits) for the call itself
        try:
            await asyncio.wait_for(channel.channel_ready(), RECONNECT_WAIT)
        except asyncio.TimeoutError:
            pass  # still down: the call fails with UNAVAILABLE, which says so

    async def call(self, method: str, request, *, safe: bool = False, timeout: float | None = None):
        """One unary call; `safe` ones (reads and idempotent writes) are retried on UNAVAILABLE."""
        rpc = getattr(self.stub, method)
        attempts = len(RETRY_DELAYS) + 1 if safe else 1
        await self.reconnected()
        for attempt in range(attempts):
            try:
                return await rpc(request, metadata=self.metadata, timeout=timeout)
            except grpc.aio.AioRpcError as err:
                retry = err.code() == grpc.StatusCode.UNAVAILABLE and attempt + 1 < attempts
                if not retry:
                    raise from_rpc_error(err) from None
                await asyncio.sleep(RETRY_DELAYS[attempt])
        raise ConnectionLostError("unreachable")  # the loop always returns or raises

    async def stream(self, method: str, request):
        """A server-streaming call as an async iterator of replies."""
        await self.reconnected()
        call = getattr(self.stub, method)(request, metadata=self.metadata)
        try:
            async for reply in call:
                yield reply
        except grpc.aio.AioRpcError as err:
            raise from_rpc_error(err) from None
        finally:
            call.cancel()

    async def close(self) -> None:
        await self.channel.close()
        await self.terminal_channel.close()
