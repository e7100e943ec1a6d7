"""Tokens: bearer tokens scoped to one environment, made and revoked by the server's admin.

A scoped token sees and touches only its environment; calls here need the admin token (or the
local Unix socket) and raise PermissionDeniedError for a scoped one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sbtui.client import wire
from sbtui.client.models import NewToken, Token
from sbtui.proto import sandbox_pb2 as pb

if TYPE_CHECKING:
    from sbtui.client.connection import Connection


class Tokens:
    def __init__(self, connection: "Connection") -> None:
        self._connection = connection

    async def create(self, environment: str, *, description: str = "") -> NewToken:
        """A new token for `environment`; its `value` is given this once, keep it safe."""
        # Not retried: a lost reply would leave a token made whose value nobody saw.
        reply = await self._connection.call(
            "TokenCreate", pb.TokenCreateRequest(environment=environment, description=description)
        )
        return NewToken(wire.token(reply.token), reply.value)

    async def list(self, *, environment: str | None = None) -> list[Token]:
        """Tokens by age, oldest first: of `environment`, or of every environment."""
        reply = await self._connection.call(
            "TokenList", pb.TokenListRequest(environment=environment or ""), safe=True
        )
        return [wire.token(t) for t in reply.tokens]

    async def revoke(self, token_id: str) -> None:
        """Revoke a token: the next call with it is refused. NotFoundError if there is none."""
        await self._connection.call("TokenRevoke", pb.TokenRevokeRequest(token_id=token_id))
