"""Client: the entry point of the client core."""

from __future__ import annotations

import os
from pathlib import Path

from sbtui.client import wire
from sbtui.client.apps import Apps
from sbtui.client.connection import Connection
from sbtui.client.embedded import ensure_server
from sbtui.client.images import Images
from sbtui.client.models import App, Capabilities, EngineStatus, ServerInfo
from sbtui.client.sandboxes import Sandboxes
from sbtui.client.secrets import Secrets
from sbtui.client.tokens import Tokens
from sbtui.client.volumes import Volumes
from sbtui.proto import sandbox_pb2 as pb


class Client:
    """A connection to an sbtui server.

    ``async with Client.connect() as client:`` uses the address given, else ``SBTUI_SERVER``,
    else the embedded local server (started on demand); the token comes from the argument or
    ``SBTUI_TOKEN``, the CA for ``tls://`` addresses from ``ca_cert`` or ``SBTUI_CA``.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.address = connection.address
        self.apps = Apps(connection)
        self.images = Images(connection)
        self.sandboxes = Sandboxes(connection)
        self.secrets = Secrets(connection)
        self.volumes = Volumes(connection)
        self.tokens = Tokens(connection)

    @classmethod
    def connect(
        cls, address: str | None = None, token: str | None = None, *, ca_cert: str | Path | None = None
    ) -> "_Connecting":
        return _Connecting(address, token, ca_cert)

    async def server_info(self) -> ServerInfo:
        """The server's version, its engine and how it is doing; for an admin caller, where."""
        return wire.server_info(
            await self._connection.call("GetServerInfo", pb.ServerInfoRequest(), safe=True)
        )

    async def engine_status(self) -> EngineStatus:
        """How the server's container engine is doing: ok, restarting or down."""
        return (await self.server_info()).engine_status

    async def capabilities(self) -> Capabilities:
        """What the server can honour: the create parameters it would refuse, with why.
        UnimplementedError from a server older than this call."""
        return wire.capabilities(
            await self._connection.call("GetCapabilities", pb.CapabilitiesRequest(), safe=True)
        )

    async def ca_certificate(self) -> str:
        """PEM of the server's CA, which signs encrypted tunnels' certificates: verify with
        ``ssl.create_default_context(cadata=pem)``."""
        reply = await self._connection.call("GetCaCertificate", pb.CaCertificateRequest(), safe=True)
        return reply.pem

    async def close(self) -> None:
        await self._connection.close()

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()


class _Connecting:
    """Awaitable and async context manager: `await Client.connect()` or `async with ...`."""

    def __init__(self, address: str | None, token: str | None, ca_cert) -> None:
        self._args = (address, token, ca_cert)
        self._client: Client | None = None

    async def _open(self) -> Client:
        address, token, ca_cert = self._args
        address = address or os.environ.get("SBTUI_SERVER") or await ensure_server()
        token = token or os.environ.get("SBTUI_TOKEN") or None
        return Client(Connection(address, token, ca_cert))

    def __await__(self):
        return self._open().__await__()

    async def __aenter__(self) -> Client:
        self._client = await self._open()
        return self._client

    async def __aexit__(self, *exc) -> None:
        if self._client is not None:
            await self._client.close()


__all__ = ["App", "Client"]
