"""Secrets: named KEY -> VALUE maps kept (encrypted) on the server and injected as variables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from sbtui.client import wire
from sbtui.client.models import Secret
from sbtui.proto import sandbox_pb2 as pb

if TYPE_CHECKING:
    from sbtui.client.connection import Connection


def _values(values: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(values, Mapping):
        raise TypeError(f"values must be a mapping of KEY to VALUE, not {type(values).__name__}")
    checked = {}
    for key, value in values.items():
        # Only the key is named: a value must not end up in a traceback or a log.
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"secret keys and values must be strings (key {key!r})")
        checked[key] = value
    return checked


class Secrets:
    def __init__(self, connection: "Connection") -> None:
        self._connection = connection

    async def create(
        self, name: str, values: Mapping[str, str], *, environment: str | None = None, overwrite: bool = False
    ) -> Secret:
        """Store a secret; AlreadyExistsError if the name is taken, unless `overwrite`."""
        request = pb.SecretCreateRequest(
            name=name, environment=environment or "", values=_values(values), overwrite=overwrite
        )
        # Replacing is idempotent, so only then is a retry after a lost connection safe.
        return wire.secret(await self._connection.call("SecretCreate", request, safe=overwrite))

    async def from_name(self, name: str, *, environment: str | None = None) -> Secret:
        reply = await self._connection.call(
            "SecretFromName", pb.SecretFromNameRequest(name=name, environment=environment or ""), safe=True
        )
        return wire.secret(reply)

    async def list(self, environment: str | None = None) -> list[Secret]:
        """The secrets of an environment by name, with the names of their keys."""
        reply = await self._connection.call(
            "SecretList", pb.SecretListRequest(environment=environment or ""), safe=True
        )
        return [wire.secret(s) for s in reply.secrets]

    async def delete(self, name: str, environment: str | None = None) -> None:
        await self._connection.call(
            "SecretDelete", pb.SecretDeleteRequest(name=name, environment=environment or "")
        )
