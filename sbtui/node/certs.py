"""The agent's certificate files, as `sbtui server node-cert` writes them: checked before
anything is served, each problem named with what to do about it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from sbtui.server.cluster_ca import ROLE_NODE, node_name_of, role_of

CA_FILE = "ca.pem"
CERT_FILE = "node.pem"
KEY_FILE = "node.key"
HOW_TO_MAKE = "make them on the server's machine with `sbtui server node-cert NAME --address ADDR --out DIR`"


class CertsError(Exception):
    """The certificate files can't be used; the message says which and why."""


@dataclass(frozen=True)
class NodeCerts:
    name: str  # the node's name, as its certificate bears it
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CertsError(f"{path} is missing: {HOW_TO_MAKE}") from None
    except OSError as err:
        raise CertsError(f"{path} can't be read: {err.strerror}") from None


def load(directory: Path) -> NodeCerts:
    if not directory.is_dir():
        raise CertsError(f"--certs {directory} is not a directory: {HOW_TO_MAKE}")
    ca_pem, cert_pem = _read(directory / CA_FILE), _read(directory / CERT_FILE)
    key_path = directory / KEY_FILE
    key_pem = _read(key_path)
    mode = key_path.stat().st_mode & 0o777
    if mode & 0o077:
        raise CertsError(
            f"{key_path} can be read by other users (mode {mode:04o}): `chmod 600 {key_path}`, "
            "and make a new certificate if others may have read the key"
        )
    try:
        ca = x509.load_pem_x509_certificate(ca_pem)
    except ValueError:
        raise CertsError(f"{directory / CA_FILE} is not a PEM certificate: {HOW_TO_MAKE}") from None
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise CertsError(f"{directory / CERT_FILE} is not a PEM certificate: {HOW_TO_MAKE}") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise CertsError(f"{key_path} is not an unencrypted PEM private key: {HOW_TO_MAKE}") from None
    if role_of(cert) != ROLE_NODE:
        raise CertsError(f"{directory / CERT_FILE} is not a node certificate: {HOW_TO_MAKE}")
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        raise CertsError(
            f"{directory / CERT_FILE} was not signed by the CA in {directory / CA_FILE}: {HOW_TO_MAKE}"
        ) from None
    if key.public_key() != cert.public_key():
        raise CertsError(f"{key_path} is not the key of {directory / CERT_FILE}: {HOW_TO_MAKE}")
    return NodeCerts(node_name_of(cert), ca_pem, cert_pem, key_pem)
