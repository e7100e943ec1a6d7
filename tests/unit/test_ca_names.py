"""The tunnel CA is bound to the names the operator allows, and a real verifier holds it to them.

Each leaf here is signed by the CA object directly, as the server's policy were bypassed (or the
CA key stolen), and presented in a TLS handshake that Python's ssl (OpenSSL) verifies against the
CA certificate the server hands to clients.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import tempfile
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from sbtui.server.ca import CA_DIR, CA_KEY, CertificateAuthority


def handshake(ca_pem: str, chain: bytes, key: bytes, host: str) -> None:
    """A TLS handshake in memory: the server presents `chain`, the client verifies it for `host`
    against `ca_pem` alone. Raises ssl.SSLCertVerificationError when the client refuses it."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    fd, path = tempfile.mkstemp(suffix=".pem")
    with os.fdopen(fd, "wb") as f:
        f.write(key + chain)
    try:
        server.load_cert_chain(path)
    finally:
        os.unlink(path)
    client = ssl.create_default_context(cadata=ca_pem)  # checks the chain and the host name
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    c = client.wrap_bio(c_in, c_out, server_hostname=host)
    s = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        try:
            c.do_handshake()
            return
        except ssl.SSLWantReadError:
            pass
        s_in.write(c_out.read())
        try:
            s.do_handshake()
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError:
            pass  # the client's alert after it refused the certificate; its error is raised next
        c_in.write(s_out.read())
    raise AssertionError("the handshake did not finish")


def verifies(ca: CertificateAuthority, pem: str, host: str) -> bool:
    chain, key, _ = ca.issue(host)
    try:
        handshake(pem, chain, key, host)
    except ssl.SSLCertVerificationError as err:
        assert "subtree violation" in err.verify_message, err.verify_message
        return False
    return True


def without_constraints(ca: CertificateAuthority, state_dir: Path) -> str:
    """The CA's certificate as it was before name constraints: same key, subject and SKI."""
    key = serialization.load_pem_private_key((state_dir / CA_DIR / CA_KEY).read_bytes(), None)
    cert = x509.load_pem_x509_certificate(ca.pem.encode())
    builder = (
        x509.CertificateBuilder()
        .subject_name(cert.subject)
        .issuer_name(cert.issuer)
        .public_key(cert.public_key())
        .serial_number(cert.serial_number)
        .not_valid_before(cert.not_valid_before_utc)
        .not_valid_after(cert.not_valid_after_utc)
    )
    for ext in cert.extensions:
        if not isinstance(ext.value, x509.NameConstraints):
            builder = builder.add_extension(ext.value, ext.critical)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def test_a_leaf_outside_the_constraints_fails_verification(tmp_path):
    ca = CertificateAuthority(tmp_path, names=["127.0.0.1", "tunnels.test"])
    constraints = x509.load_pem_x509_certificate(ca.pem.encode()).extensions.get_extension_for_class(
        x509.NameConstraints
    )
    assert constraints.critical
    assert constraints.value.permitted_subtrees == [
        x509.DNSName("tunnels.test"),
        x509.IPAddress(ipaddress.ip_network("127.0.0.1/32")),
    ]
    for host in ("sb.tunnels.test", "tunnels.test", "a.b.TUNNELS.test", "127.0.0.1"):
        assert verifies(ca, ca.pem, host), host
    outside = (
        "login.microsoftonline.com",
        "eviltunnels.test",
        "tunnels.test.evil.example",
        "localhost",
        "127.0.0.2",
        "::1",
    )
    for host in outside:
        assert not verifies(ca, ca.pem, host), host
    # The control: the same CA without its constraints (same key and subject) trusts them all,
    # so the constraints are what refuses them.
    unconstrained = without_constraints(ca, tmp_path)
    for host in outside:
        assert verifies(ca, unconstrained, host), host


@pytest.mark.parametrize(
    "names, inside, outside",
    [
        # Only an address: no DNS name at all.
        (["127.0.0.1"], ["127.0.0.1"], ["localhost", "sb.tunnels.test", "10.0.0.1"]),
        # Only a name: no address at all (a listener on 0.0.0.0 is named by the host's name).
        (
            ["tunnels.host.test"],
            ["tunnels.host.test", "x.tunnels.host.test"],
            ["127.0.0.1", "::1", "host.test"],
        ),
        (["::1", "a.test", "b.test"], ["::1", "x.a.test", "b.test"], ["127.0.0.1", "c.test"]),
    ],
)
def test_each_kind_of_name_is_constrained(tmp_path, names, inside, outside):
    ca = CertificateAuthority(tmp_path, names=names)
    for host in inside:
        assert verifies(ca, ca.pem, host), host
    for host in outside:
        assert not verifies(ca, ca.pem, host), host


def test_a_change_of_names_issues_the_certificate_again_with_the_same_key(tmp_path):
    first = CertificateAuthority(tmp_path, names=["127.0.0.1", "a.test"])
    assert CertificateAuthority(tmp_path, names=["a.test", "127.0.0.1"]).pem == first.pem  # same set
    second = CertificateAuthority(tmp_path, names=["127.0.0.1", "b.test"])
    assert second.pem != first.pem
    old, new = (x509.load_pem_x509_certificate(c.pem.encode()) for c in (first, second))
    assert new.subject == old.subject and new.public_key() == old.public_key()
    assert (tmp_path / CA_DIR / "ca.pem").read_text() == second.pem
    assert verifies(second, second.pem, "x.b.test") and not verifies(second, second.pem, "x.a.test")
    # Same key: a leaf of either verifies against the other certificate within its names, so
    # tunnels keep working for clients that have not fetched the new one yet...
    assert verifies(second, first.pem, "127.0.0.1") and verifies(first, second.pem, "127.0.0.1")
    # ...and such a client trusts only the names of its own certificate.
    assert not verifies(second, first.pem, "x.b.test")
