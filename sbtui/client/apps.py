"""Apps: named groups of sandboxes within an environment."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sbtui.client import wire
from sbtui.client.models import App
from sbtui.proto import sandbox_pb2 as pb

if TYPE_CHECKING:
    from sbtui.client.connection import Connection


class Apps:
    def __init__(self, connection: "Connection") -> None:
        self._connection = connection

    async def from_name(
        self, name: str, *, create_if_missing: bool = False, environment: str | None = None
    ) -> App:
        reply = await self._connection.call(
            "AppFromName",
            pb.AppFromNameRequest(
                name=name, environment=environment or "", create_if_missing=create_if_missing
            ),
            safe=True,
        )
        return wire.app(reply)

    async def list(self, *, environment: str | None = None) -> list[App]:
        reply = await self._connection.call(
            "AppList", pb.AppListRequest(environment=environment or ""), safe=True
        )
        return [wire.app(a) for a in reply.apps]
