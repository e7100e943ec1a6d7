"""Values sealed at rest: AES-GCM under the server's data key, kept in a file of its own.

The key lives in `secrets.key` in the state directory (mode 0600, made on first use), so the
state file holds only ciphertext of what is sealed: secret values (secrets.py) and the kept
output of finished sandboxes (logs.py). Each value is sealed with the id of the row it belongs
to as associated data, so a sealed value can't be moved to another row and still open.
"""

from __future__ import annotations

import base64
import logging
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sbtui.server.errors import precondition

log = logging.getLogger("sbtui.server")

_NONCE = 12


class KeyProblem(Exception):
    """The key file is missing or damaged; the message says which."""


class KeyFile:
    """The data key, read from (or on first use written to) a private file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key: bytes | None = None

    def key(self, create: bool) -> bytes:
        if self._key is None:
            if not self.path.exists():
                if not create:
                    raise KeyProblem(f"the secrets key {self.path} is missing")
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
            raise KeyProblem(f"the secrets key {self.path} is damaged: it is not a 256-bit key")
        return key


class Sealer:
    def __init__(self, key_path: Path) -> None:
        self._keyfile = KeyFile(key_path)

    def seal(self, owner: str, plain: bytes) -> bytes:
        """nonce + AES-GCM ciphertext of `plain`, bound to `owner` (the id of its row)."""
        try:
            key = self._keyfile.key(create=True)
        except KeyProblem as err:
            raise precondition(str(err)) from None
        nonce = os.urandom(_NONCE)
        return nonce + AESGCM(key).encrypt(nonce, plain, owner.encode())

    def open(self, owner: str, sealed: bytes, what: str, remedy: str) -> bytes:
        """The plain value; FAILED_PRECONDITION saying why `what` can't be read, and `remedy`."""
        try:
            aead = AESGCM(self._keyfile.key(create=False))
            return aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], owner.encode())
        except KeyProblem as err:
            reason = str(err)
        except InvalidTag:
            reason = (
                f"it does not open with the key in {self._keyfile.path} (it was sealed with "
                "another key, or for another record)"
            )
        raise precondition(f"{what} can't be read: {reason}; {remedy}")
