"""Named secrets: KEY -> VALUE maps per environment, encrypted at rest.

Values are sealed with AES-GCM under a key kept in its own file in the server's state
directory (mode 0600, made on first use), so the state file holds only ciphertext; the
secret's id is the associated data, so a sealed value can't be moved to another secret.
Values leave this module only as environment variables for the engine: never in a reply,
a log line or an error message (which name secrets and keys, never values).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sbtui.proto import sandbox_pb2 as pb
from sbtui.server import validation
from sbtui.server.errors import ServiceError, already_exists, invalid, not_found, precondition
from sbtui.server.ids import new_id
from sbtui.server.store import Store

log = logging.getLogger("sbtui.server")

_NONCE = 12
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
        return (self.secret_id, self.name, self.environment, json.dumps(self.keys),
                self.ciphertext, self.created_at)

    def to_pb(self) -> pb.Secret:
        return pb.Secret(
            secret_id=self.secret_id, name=self.name, environment=self.environment,
            keys=self.keys, created_at=self.created_at,
        )


class KeyFile:
    """The data key, read from (or on first use written to) a private file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key: bytes | None = None

    def key(self, create: bool) -> bytes:
        if self._key is None:
            if not self.path.exists():
                if not create:
                    raise precondition(
                        f"the secrets key {self.path} is missing, so no stored secret can be "
                        "read; create the secrets again (with overwrite)"
                    )
                self._write_new()
            self._key = self._read()
        return self._key

    def _write_new(self) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        with os.fdopen(fd, "w") as f:
            f.write(base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode() + "\n")
        log.info("made a key for secrets in %s (readable only by this user)", self.path)

    def _read(self) -> bytes:
        if self.path.stat().st_mode & 0o077:
            self.path.chmod(0o600)
            log.warning("%s was readable by others; made it private", self.path)
        try:
            key = base64.urlsafe_b64decode(self.path.read_text().strip())
        except (ValueError, UnicodeDecodeError):
            key = b""
        if len(key) != 32:
            raise precondition(f"the secrets key {self.path} is damaged: it is not a 256-bit key")
        return key


class Secrets:
    def __init__(self, store: Store, key_path: Path) -> None:
        self._store = store
        self._keyfile = KeyFile(key_path)
        self._records: dict[str, SecretRecord] = {}
        for row in store.load_rows(_TABLE):
            secret_id, name, environment, keys, ciphertext, created_at = row
            self._records[secret_id] = SecretRecord(
                secret_id, name, environment, json.loads(keys), ciphertext, created_at
            )

    # ---- sealing ------------------------------------------------------------------

    def _seal(self, secret_id: str, values: dict[str, str]) -> bytes:
        nonce = os.urandom(_NONCE)
        plain = json.dumps(values).encode()
        return nonce + AESGCM(self._keyfile.key(create=True)).encrypt(nonce, plain, secret_id.encode())

    def _open(self, record: SecretRecord) -> dict[str, str]:
        sealed = record.ciphertext
        aead = AESGCM(self._keyfile.key(create=False))
        try:
            plain = aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], record.secret_id.encode())
        except InvalidTag:
            raise precondition(
                f"secret {record.name!r} can't be decrypted with the key in {self._keyfile.path} "
                "(it was sealed with another key); create it again with overwrite"
            ) from None
        return json.loads(plain)

    # ---- calls --------------------------------------------------------------------

    def _find(self, name: str, environment: str) -> SecretRecord | None:
        for record in self._records.values():
            if record.name == name and record.environment == environment:
                return record
        return None

    def create(
        self, name: str, environment: str, values: dict[str, str], overwrite: bool
    ) -> SecretRecord:
        # A KEY=VALUE typed where the name or environment goes must not be echoed back.
        for field, given in (("name", name), ("environment", environment)):
            try:
                validation.check_name(field, given)
            except ServiceError:
                raise invalid(
                    field, "not a valid name (not repeated here, in case it holds a value): use "
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
            secret_id, name, environment, sorted(values), self._seal(secret_id, values),
            existing.created_at if existing else time.time(),
        )
        self._store.save_row(_TABLE, record.row())
        self._records[secret_id] = record
        log.info("secret %r %s in environment %r with keys %s", name,
                 "replaced" if existing else "created", environment, ", ".join(record.keys))
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

    def resolve(self, refs: Iterable[str], environment: str) -> list[SecretRecord]:
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
                    f"secret {ref!r} does not exist in environment {environment!r}",
                    field="secret_ids",
                )
            found.append(record)
        return found

    def environment_for(self, refs: Iterable[str], environment: str) -> dict[str, str]:
        """The variables of the secrets named, later secrets winning over earlier ones."""
        env: dict[str, str] = {}
        for record in self.resolve(refs, environment):
            env.update(self._open(record))
        return env
