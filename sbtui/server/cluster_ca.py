"""The cluster's certificate authority: the server and its node agents (`sbtui node`) know
each other by the certificates it signs, over mutual TLS.

It is not the tunnel CA (ca.py): clients trust that one for tunnel names, and it is bound to
them by name constraints. This one is trusted by the server and the agents only, and is kept
apart in the state directory (CLUSTER_DIR, key readable only by the server's user).

Two roles, told apart both by the subject's organizational unit and by the extended key usage,
so a certificate of one can't act as the other:
- the server: OU=sbtui-server, client authentication only, no names (it only dials out);
- a node: OU=sbtui-node, CN=its name, server authentication only, and subject alternative
  names for its name and the addresses it is reached at (the server checks the name).
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sbtui.server.ca import _BACKDATE, _key_usage, _now, _pem_key, _write_private, subject_alt_name

CLUSTER_DIR = "cluster-ca"
CA_CERT = "ca.pem"
CA_KEY = "ca.key"
SERVER_CERT = "server.pem"
SERVER_KEY = "server.key"
CA_VALIDITY = datetime.timedelta(days=3650)
# Node certificates are handed to operators, who issue them again before they end.
LEAF_VALIDITY = datetime.timedelta(days=365)
RENEW_BEFORE = datetime.timedelta(days=30)

ROLE_SERVER = "sbtui-server"
ROLE_NODE = "sbtui-node"
_ROLE_EKU = {ROLE_SERVER: ExtendedKeyUsageOID.CLIENT_AUTH, ROLE_NODE: ExtendedKeyUsageOID.SERVER_AUTH}
# A node name as a host name: what a swarm node's hostname is, and what goes into a DNS SAN.
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_NODE_NAME = re.compile(rf"{_LABEL}(\.{_LABEL})*")


@dataclass(frozen=True)
class Credentials:
    """What one side presents and trusts: the cluster CA's certificate, its own certificate
    and its key (PEM)."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes


@dataclass(frozen=True)
class NodeCertificate:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes
    not_after: datetime.datetime


def check_node_name(name: str) -> str:
    """`name` if it can name a node, else ValueError saying what a node name is."""
    if len(name) > 253 or not _NODE_NAME.fullmatch(name):
        raise ValueError(
            f"node name {name!r}: use the node's host name (letters, digits, '-' and '.', each "
            "part starting and ending with a letter or digit)"
        )
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return name
    raise ValueError(f"node name {name!r} is an address: name the node, give addresses with --address")


def check_address(address: str) -> str:
    """An IP address or a host name the node is reached at, else ValueError."""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        pass
    if len(address) > 253 or not _NODE_NAME.fullmatch(address):
        raise ValueError(f"address {address!r}: give an IP address or a host name (no port, no scheme)")
    return address.lower()


def role_of(cert: x509.Certificate) -> str | None:
    """The role a certificate of this CA was issued for: its OU, when its extended key usage
    is the one of that role; None for anything else."""
    units = {a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)}
    try:
        usages = set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return None
    found = [role for role, eku in _ROLE_EKU.items() if role in units and usages == {eku}]
    return found[0] if len(found) == 1 and len(units) == 1 else None


def node_name_of(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


class ClusterCA:
    def __init__(self, state_dir: Path, directory: Path | None = None) -> None:
        """The CA kept in `directory`, by default the state directory's CLUSTER_DIR (servers
        that take turns on one cluster, each with a state of its own, share one directory)."""
        self.directory = directory or state_dir / CLUSTER_DIR
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        self._key, self._cert = self._load_or_create()
        self.pem = self._cert.public_bytes(serialization.Encoding.PEM)

    def _load_or_create(self) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key_path, cert_path = self.directory / CA_KEY, self.directory / CA_CERT
        if key_path.exists() and cert_path.exists():
            if key_path.stat().st_mode & 0o077:
                key_path.chmod(0o600)
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            lasts = cert.not_valid_after_utc > _now() + LEAF_VALIDITY
            if isinstance(key, ec.EllipticCurvePrivateKey) and lasts:
                return key, cert
        # Missing, half-written or ending soon: a new CA, whose node certificates must all be
        # issued again (the agents refuse the server until then, and say so).
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sbtui"),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "sbtui-cluster-ca"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"sbtui cluster CA on {socket.gethostname()}"[:64]),
            ]
        )
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - _BACKDATE)
            .not_valid_after(_now() + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(signs_certificates=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        _write_private(key_path, _pem_key(key))
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return key, cert

    def _issue(
        self, role: str, common_name: str, names: list[x509.GeneralName]
    ) -> tuple[bytes, bytes, datetime.datetime]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        not_after = min(now + LEAF_VALIDITY, self._cert.not_valid_after_utc)
        ca_ski = self._cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sbtui"),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
            ]
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(signs_certificates=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([_ROLE_EKU[role]]), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
            )
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key), not_after

    def issue_node(self, name: str, addresses: Iterable[str]) -> NodeCertificate:
        """A certificate for the agent of node `name`, reached at `addresses` (IPs or names)."""
        check_node_name(name)
        checked = list(dict.fromkeys(check_address(a) for a in addresses))
        names = [x509.DNSName(name.lower())] + [subject_alt_name(a) for a in checked if a != name.lower()]
        cert, key, not_after = self._issue(ROLE_NODE, name, names)
        return NodeCertificate(self.pem, cert, key, not_after)

    def server_credentials(self) -> Credentials:
        """The server's client certificate, kept beside the CA and issued again near its end."""
        cert_path, key_path = self.directory / SERVER_CERT, self.directory / SERVER_KEY
        if cert_path.exists() and key_path.exists():
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            signed_here = cert.issuer == self._cert.subject and _signed_by(cert, self._cert)
            if signed_here and cert.not_valid_after_utc - _now() > RENEW_BEFORE:
                return Credentials(self.pem, cert_path.read_bytes(), key_path.read_bytes())
        cert_pem, key_pem, _ = self._issue(ROLE_SERVER, "sbtui server", [])
        _write_private(key_path, key_pem)
        _write_private(cert_path, cert_pem)
        return Credentials(self.pem, cert_pem, key_pem)


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def write_node_files(issued: NodeCertificate, out: Path) -> list[Path]:
    """Write ca.pem, node.pem and node.key (0600) into `out` (made 0700 if missing)."""
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    written = []
    files = (("ca.pem", issued.ca_pem), ("node.pem", issued.cert_pem), ("node.key", issued.key_pem))
    for name, data in files:
        path = out / name
        _write_private(path, data)
        written.append(path)
    return written
