"""Environment-scoped bearer tokens: made, listed and revoked by the operator.

A token is 32 random bytes; the server keeps only its SHA-256, so neither the state file nor a
copy of it lets anyone act as the token's holder. A presented token is found by its hash (the
hash of a guess tells an attacker nothing about any real token, so the dictionary lookup needs
no constant-time comparison). Revoking drops the hash from memory and the store at once: the
next call with the token is refused. It also ends the token's open streams, whatever each is
waiting for (a command that prints nothing, stdin, a log, an event): every streaming call of a
scoped token runs registered here (sbtui.server.scope.bind), and revoking cancels each one's
task, which ends it with UNAUTHENTICATED once its cleanup (killing an exec's processes) is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Iterator

from sbtui.proto import sandbox_pb2 as pb
from sbtui.server import validation
from sbtui.server.errors import invalid, not_found
from sbtui.server.ids import new_id
from sbtui.server.store import Store

log = logging.getLogger("sbtui.server")

_TABLE = "tokens"
PREFIX = "sbtui_"  # lets people and secret scanners tell a scoped token apart from other strings


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass
class TokenRecord:
    token_id: str
    token_hash: str
    environment: str
    description: str
    created_at: float

    def row(self) -> tuple:
        return (self.token_id, self.token_hash, self.environment, self.description, self.created_at)

    def to_pb(self) -> pb.TokenInfo:
        return pb.TokenInfo(
            token_id=self.token_id,
            environment=self.environment,
            description=self.description,
            created_at=self.created_at,
        )


@dataclass(eq=False)
class OpenStream:
    """A streaming call of a scoped token, running in `task`; `revoked` once its token is."""

    task: asyncio.Task
    revoked: bool = False


class Tokens:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._by_hash: dict[str, TokenRecord] = {}
        self._by_id: dict[str, TokenRecord] = {}
        self._streams: dict[str, set[OpenStream]] = {}
        for row in store.load_rows(_TABLE):
            self._add(TokenRecord(*row))

    def _add(self, record: TokenRecord) -> None:
        self._by_hash[record.token_hash] = record
        self._by_id[record.token_id] = record

    def create(self, environment: str, description: str) -> tuple[TokenRecord, str]:
        """A new token for `environment`: its record and its value, which is not kept."""
        if not environment:
            raise invalid("environment", "give the environment the token is for, e.g. 'dev'")
        validation.check_environment(environment)
        validation.check_description("description", description)
        value = PREFIX + secrets.token_urlsafe(32)
        record = TokenRecord(new_id("tk"), digest(value), environment, description, time.time())
        self._store.save_row(_TABLE, record.row())
        self._add(record)
        log.info("token %s created for environment %r", record.token_id, environment)
        return record, value

    def list(self, environment: str = "") -> list[TokenRecord]:
        validation.check_environment(environment)
        found = [r for r in self._by_id.values() if not environment or r.environment == environment]
        return sorted(found, key=lambda r: r.created_at)

    def revoke(self, token_id: str) -> None:
        if not token_id:
            raise invalid("token_id", "give the id of the token to revoke (tk-..., from `sbtui token list`)")
        record = self._by_id.get(token_id)
        if record is None:
            raise not_found(
                f"token {token_id!r} does not exist (or was revoked already); "
                "see the ids with `sbtui token list`",
                field="token_id",
            )
        self._store.delete_row(_TABLE, token_id)
        del self._by_id[token_id]
        del self._by_hash[record.token_hash]
        streams = self._streams.pop(token_id, set())
        for stream in streams:
            # A task cancelled already (its client left) is cleaning up and ends anyway: a
            # second cancel would cut that cleanup short.
            if not stream.task.cancelling():
                stream.revoked = True
                stream.task.cancel()
        log.info(
            "token %s of environment %r revoked (open streams ended: %d)",
            token_id,
            record.environment,
            len(streams),
        )

    def find(self, value: str) -> TokenRecord | None:
        """The token with this value, if it exists and was not revoked."""
        return self._by_hash.get(digest(value))

    @contextlib.contextmanager
    def streaming(self, token_id: str) -> Iterator[OpenStream]:
        """Register the running task as an open stream of `token_id` while the block runs,
        for `revoke` to end. The stream is revoked from the start if the token already is
        (revoked between the call's authentication and the start of its handler)."""
        task = asyncio.current_task()
        assert task is not None  # called from the call's handler, always in a task
        stream = OpenStream(task, revoked=token_id not in self._by_id)
        if stream.revoked:
            yield stream
            return
        streams = self._streams.setdefault(token_id, set())
        streams.add(stream)
        try:
            yield stream
        finally:
            streams.discard(stream)
            if not streams:
                self._streams.pop(token_id, None)
