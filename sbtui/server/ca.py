"""The server's own certificate authority, which signs the certificates of encrypted tunnels.

The CA is made once and kept in the state directory (key readable only by the server's user),
so a client that fetched its certificate keeps verifying tunnels across server restarts.
Leaf certificates are made per host name on first use and kept in memory; an SSL context is
reloaded with a fresh leaf before its certificate runs out, so long-lived listeners keep working.

Clients trust this CA, so it is bound to the names it exists for: its certificate carries X.509
name constraints permitting only the tunnel host and the custom domain suffixes the operator
allows (see domains.py); a verifier refuses a leaf for any other name, whoever signed it with
the CA's key. When that set changes, the CA certificate is issued again at start with the same
key and subject: leaves keep verifying against either certificate, and clients fetch the new
one to trust names added since (one they kept still trusts only the names of its time).
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import socket
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DIR = "ca"
CA_CERT = "ca.pem"
CA_KEY = "ca.key"
CA_VALIDITY = datetime.timedelta(days=3650)
# Short enough for clients that cap leaf lifetimes (825 days on Apple's), renewed well before.
LEAF_VALIDITY = datetime.timedelta(days=90)
LEAF_RENEW_BEFORE = datetime.timedelta(days=30)
_BACKDATE = datetime.timedelta(minutes=5)  # tolerate a client clock slightly behind ours

log = logging.getLogger("sbtui.server.ca")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a 0600 temporary file, so no reader ever sees a partial key."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def subject_alt_name(host: str) -> x509.GeneralName:
    """An IP SAN for an address, a DNS SAN for a name."""
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def name_constraints(names: Iterable[str]) -> x509.NameConstraints:
    """Constraints permitting `names` (DNS names, with the names under them; IP addresses) only.

    A kind of name with nothing permitted is excluded whole: constraints on DNS names alone
    would leave every IP address allowed, and the reverse.
    """
    dns, ips = set(), set()
    for name in names:
        try:
            ips.add(ipaddress.ip_network(ipaddress.ip_address(name)))
        except ValueError:
            dns.add(name.lower())
    permitted: list[x509.GeneralName] = [x509.DNSName(n) for n in sorted(dns)] + [
        x509.IPAddress(n) for n in sorted(ips, key=lambda n: (n.version, n))
    ]
    # The empty name matches every DNS name.
    excluded: list[x509.GeneralName] = [] if dns else [x509.DNSName("")]
    if not ips:
        excluded += [x509.IPAddress(ipaddress.ip_network(n)) for n in ("0.0.0.0/0", "::/0")]
    return x509.NameConstraints(permitted_subtrees=permitted or None, excluded_subtrees=excluded or None)


def _key_usage(*, signs_certificates: bool) -> x509.KeyUsage:
    """Digital signatures only (a leaf's TLS handshakes), or also certificates and CRLs (the CA)."""
    return x509.KeyUsage(
        digital_signature=True,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )


def _constraints_of(cert: x509.Certificate) -> x509.NameConstraints | None:
    try:
        return cert.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return None


@dataclass
class _Leaf:
    context: ssl.SSLContext
    not_after: datetime.datetime


class CertificateAuthority:
    def __init__(self, state_dir: Path, *, names: Iterable[str]) -> None:
        """`names`: what the CA may certify, see name_constraints."""
        self.directory = state_dir / CA_DIR
        self.directory.mkdir(mode=0o700, exist_ok=True)
        self.directory.chmod(0o700)
        self.constraints = name_constraints(names)
        self._key, self._cert = self._load_or_create()
        self.pem = self._cert.public_bytes(serialization.Encoding.PEM).decode()
        self._leaves: dict[tuple[str, tuple[str, ...]], _Leaf] = {}

    # ---- the CA itself ------------------------------------------------------------

    def _load_or_create(self) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key_path, cert_path = self.directory / CA_KEY, self.directory / CA_CERT
        if key_path.exists() and cert_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            if key_path.stat().st_mode & 0o077:
                key_path.chmod(0o600)
            # An EC key: the kind this CA makes.
            if (
                isinstance(key, ec.EllipticCurvePrivateKey)
                and cert.not_valid_after_utc > _now() + LEAF_VALIDITY
            ):
                if _constraints_of(cert) != self.constraints:
                    cert = self._certificate(key, cert.subject, cert.not_valid_after_utc)
                    _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
                    log.info(
                        "the names the tunnel CA may certify changed: its certificate %s was "
                        "issued again (same key); clients fetch it again",
                        cert_path,
                    )
                return key, cert
        # Missing, half-written, of another kind or about to expire: make a new one (clients
        # must fetch it again).
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sbtui"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"sbtui tunnel CA on {socket.gethostname()}"),
            ]
        )
        cert = self._certificate(key, name, _now() + CA_VALIDITY)
        _write_private(key_path, _pem_key(key))
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return key, cert

    def _certificate(
        self, key: ec.EllipticCurvePrivateKey, name: x509.Name, not_after: datetime.datetime
    ) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - _BACKDATE)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(signs_certificates=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(self.constraints, critical=True)
            .sign(key, hashes.SHA256())
        )

    # ---- leaves -------------------------------------------------------------------

    def issue(self, host: str) -> tuple[bytes, bytes, datetime.datetime]:
        """A new leaf for `host`: (certificate chain PEM, key PEM, not-after)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        not_after = min(now + LEAF_VALIDITY, self._cert.not_valid_after_utc)
        ca_ski = self._cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        san = subject_alt_name(host)
        # No common name for an address: with no DNS name in the SAN, verifiers check a common
        # name that looks like a host name (as a dotted address does) against the CA's DNS
        # constraints, which refuse it. An empty subject makes the SAN critical (RFC 5280).
        named = isinstance(san, x509.DNSName)
        subject = [x509.NameAttribute(NameOID.COMMON_NAME, host[:64])] if named else []
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(subject))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([san]), critical=not named)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(signs_certificates=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        chain = cert.public_bytes(serialization.Encoding.PEM) + self.pem.encode()
        return chain, _pem_key(key), not_after

    def _load_leaf(self, context: ssl.SSLContext, host: str) -> datetime.datetime:
        chain, key, not_after = self.issue(host)
        # The ssl module loads keys only from files: a private temporary one, gone at once.
        fd, path = tempfile.mkstemp(dir=self.directory, prefix=".leaf-", suffix=".pem")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(key + chain)
            context.load_cert_chain(path)
        finally:
            os.unlink(path)
        return not_after

    def server_context(self, host: str, alpn: tuple[str, ...] = ()) -> ssl.SSLContext:
        """A TLS server context presenting a certificate for `host`, shared by every listener."""
        cache_key = (host, alpn)
        leaf = self._leaves.get(cache_key)
        if leaf is None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            if alpn:
                context.set_alpn_protocols(list(alpn))
            leaf = _Leaf(context, self._load_leaf(context, host))
            self._leaves[cache_key] = leaf
        return leaf.context

    def renew_due(self) -> int:
        """Reload every context whose certificate ends soon; later handshakes get the new one."""
        renewed = 0
        for (host, _alpn), leaf in self._leaves.items():
            if leaf.not_after - _now() < LEAF_RENEW_BEFORE:
                leaf.not_after = self._load_leaf(leaf.context, host)
                renewed += 1
        return renewed
