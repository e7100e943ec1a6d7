"""Named secrets: KEY -> VALUE maps per environment, encrypted at rest.

Values are sealed (sealing.py: AES-GCM under the key in the state directory's `secrets.key`),
so the state file holds only ciphertext; the secret's id is the associated data, so a sealed
value can't be moved to another secret.
Values leave this module only as environment variables for the engine: never in a reply,
a log line or an error message (which name secrets and keys, never values).
"""

from __future__ import annotations

import builtins
import json
import logging
import time
from dataclasses import dataclass
from typing import Iterable

from sbtui.proto import sandbox_pb2 as pb
from sbtui.server import validation
from sbtui.server.errors import ServiceError, already_exists, invalid, not_found
from sbtui.server.ids import new_id
from sbtui.server.sealing import Sealer
from sbtui.server.store import Store

log = logging.getLogger("sbtui.server")

_TABLE = "secrets"


@dataclass
class SecretRecord:
    secret_id: str
    name: str
    environment: str
    keys: list[str]
    ciphertext: bytes  # nonce + AES-GCM sealed JSON of the values
    created_at: float

    def row(self) -> tuple:
        return (
            self.secret_id,
            self.name,
            self.environment,
            json.dumps(self.keys),
            self.ciphertext,
            self.created_at,
        )

    def to_pb(self) -> pb.Secret:
        return pb.Secret(
            secret_id=self.secret_id,
            name=self.name,
            environment=self.environment,
            keys=self.keys,
            created_at=self.created_at,
        )


class Secrets:
    def __init__(self, store: Store, sealer: Sealer) -> None:
        self._store = store
        self._sealer = sealer
        self._records: dict[str, SecretRecord] = {}
        for row in store.load_rows(_TABLE):
            secret_id, name, environment, keys, ciphertext, created_at = row
            self._records[secret_id] = SecretRecord(
                secret_id, name, environment, json.loads(keys), ciphertext, created_at
            )

    # ---- sealing ------------------------------------------------------------------

    def _seal(self, secret_id: str, values: dict[str, str]) -> bytes:
        return self._sealer.seal(secret_id, json.dumps(values).encode())

    def _open(self, record: SecretRecord) -> dict[str, str]:
        return json.loads(
            self._sealer.open(
                record.secret_id,
                record.ciphertext,
                f"secret {record.name!r}",
                "create it again with overwrite",
            )
        )

    # ---- calls --------------------------------------------------------------------

    def _find(self, name: str, environment: str) -> SecretRecord | None:
        for record in self._records.values():
            if record.name == name and record.environment == environment:
                return record
        return None

    def create(self, name: str, environment: str, values: dict[str, str], overwrite: bool) -> SecretRecord:
        # A KEY=VALUE typed where the name or environment goes must not be echoed back.
        for field, given in (("name", name), ("environment", environment)):
            try:
                validation.check_name(field, given)
            except ServiceError:
                raise invalid(
                    field,
                    "not a valid name (not repeated here, in case it holds a value): use "
                    "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
                ) from None
        if not values:
            raise invalid("values", "a secret needs at least one KEY=VALUE")
        validation.check_env("values", values)
        existing = self._find(name, environment)
        if existing is not None and not overwrite:
            raise already_exists(
                f"secret {name!r} already exists in environment {environment!r}; "
                "pass overwrite to replace its values"
            )
        # Overwriting keeps the id, so sandboxes and scripts that name it by id still find it.
        secret_id = existing.secret_id if existing else new_id("st")
        record = SecretRecord(
            secret_id,
            name,
            environment,
            sorted(values),
            self._seal(secret_id, values),
            existing.created_at if existing else time.time(),
        )
        self._store.save_row(_TABLE, record.row())
        self._records[secret_id] = record
        log.info(
            "secret %r %s in environment %r with keys %s",
            name,
            "replaced" if existing else "created",
            environment,
            ", ".join(record.keys),
        )
        return record

    def from_name(self, name: str, environment: str) -> SecretRecord:
        record = self._find(name, environment)
        if record is None:
            raise not_found(f"secret {name!r} does not exist in environment {environment!r}")
        return record

    def list(self, environment: str) -> list[SecretRecord]:
        found = [r for r in self._records.values() if r.environment == environment]
        return sorted(found, key=lambda r: r.name)

    def delete(self, name: str, environment: str) -> None:
        record = self.from_name(name, environment)
        self._store.delete_row(_TABLE, record.secret_id)
        del self._records[record.secret_id]
        log.info("secret %r deleted from environment %r", name, environment)

    # builtins.list: in the class, `list` is the method above.
    def resolve(self, refs: Iterable[str], environment: str) -> builtins.list[SecretRecord]:
        """The secrets named (by name or id) in `environment`; NOT_FOUND names the first unknown."""
        found = []
        for ref in refs:
            if not ref:
                raise invalid("secret_ids", "a secret name is empty")
            record = self._records.get(ref)
            if record is None or record.environment != environment:
                record = self._find(ref, environment)
            if record is None:
                raise not_found(
                    f"secret {ref!r} does not exist in environment {environment!r}", field="secret_ids"
                )
            found.append(record)
        return found

    def environment_for(self, refs: Iterable[str], environment: str) -> dict[str, str]:
        """The variables of the secrets named, later secrets winning over earlier ones."""
        env: dict[str, str] = {}
        for record in self.resolve(refs, environment):
            env.update(self._open(record))
        return env
