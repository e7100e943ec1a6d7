"""Volumes: named storage that outlives sandboxes, mounted with `create(..., volumes={path: v})`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sbtui.client import wire
from sbtui.client.models import Volume
from sbtui.proto import sandbox_pb2 as pb

if TYPE_CHECKING:
    from sbtui.client.connection import Connection


class Volumes:
    def __init__(self, connection: "Connection") -> None:
        self._connection = connection

    async def from_name(
        self, name: str, *, create_if_missing: bool = False, environment: str | None = None
    ) -> Volume:
        """The volume called `name`; NotFoundError if there is none, unless `create_if_missing`."""
        reply = await self._connection.call(
            "VolumeFromName",
            pb.VolumeFromNameRequest(
                name=name, environment=environment or "", create_if_missing=create_if_missing
            ),
            safe=True,
        )
        return wire.volume(reply)

    async def list(self, environment: str | None = None) -> list[Volume]:
        reply = await self._connection.call(
            "VolumeList", pb.VolumeListRequest(environment=environment or ""), safe=True
        )
        return [wire.volume(v) for v in reply.volumes]

    async def delete(self, name: str, environment: str | None = None) -> None:
        """Remove the volume and its data; FailedPreconditionError while a sandbox mounts it."""
        await self._connection.call(
            "VolumeDelete", pb.VolumeDeleteRequest(name=name, environment=environment or "")
        )
