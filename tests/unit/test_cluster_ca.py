"""The cluster CA: where it keeps its key, the roles of what it issues, and the names a node
certificate bears; and the agent's check of its certificate files."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sbtui.node import certs as node_certs
from sbtui.server.cluster_ca import (
    CLUSTER_DIR,
    ROLE_NODE,
    ROLE_SERVER,
    ClusterCA,
    check_address,
    check_node_name,
    role_of,
    write_node_files,
)


def _cert(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_ca_lives_in_its_own_private_folder_and_is_kept(tmp_path):
    ca = ClusterCA(tmp_path)
    folder = tmp_path / CLUSTER_DIR
    assert _mode(folder) == 0o700 and _mode(folder / "ca.key") == 0o600
    assert ClusterCA(tmp_path).pem == ca.pem  # a restart keeps it: node certificates stay valid
    (folder / "ca.key").chmod(0o644)
    ClusterCA(tmp_path)
    assert _mode(folder / "ca.key") == 0o600


def test_it_is_not_the_tunnel_ca(tmp_path):
    from sbtui.server.ca import CertificateAuthority

    tunnel = CertificateAuthority(tmp_path, names=["127.0.0.1"])
    assert _cert(ClusterCA(tmp_path).pem).public_key() != _cert(tunnel.pem.encode()).public_key()


def test_server_and_node_certificates_have_distinct_roles(tmp_path):
    ca = ClusterCA(tmp_path)
    server = _cert(ca.server_credentials().cert_pem)
    node = _cert(ca.issue_node("worker-1", ["10.0.0.2"]).cert_pem)
    assert role_of(server) == ROLE_SERVER and role_of(node) == ROLE_NODE
    eku = x509.ExtendedKeyUsage
    assert list(server.extensions.get_extension_for_class(eku).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert list(node.extensions.get_extension_for_class(eku).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    for cert in (server, node):
        cert.verify_directly_issued_by(_cert(ca.pem))


def test_the_server_certificate_is_kept_and_private(tmp_path):
    ca = ClusterCA(tmp_path)
    first = ca.server_credentials()
    assert ClusterCA(tmp_path).server_credentials() == first
    assert _mode(tmp_path / CLUSTER_DIR / "server.key") == 0o600


def test_a_node_certificate_names_the_node_and_its_addresses(tmp_path):
    node = _cert(
        ClusterCA(tmp_path).issue_node("worker-1", ["10.0.0.2", "Worker-1.lan", "10.0.0.2"]).cert_pem
    )
    assert node.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "worker-1"
    names = node.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["worker-1", "worker-1.lan"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.2")]


@pytest.mark.parametrize("name", ["", "-x", "a b", "x" * 64, "10.0.0.2", "node/1"])
def test_bad_node_names_are_refused(name):
    with pytest.raises(ValueError, match="node name"):
        check_node_name(name)


@pytest.mark.parametrize("address", ["", "http://x", "10.0.0.2:7443", "a b"])
def test_bad_addresses_are_refused(address):
    with pytest.raises(ValueError, match="address"):
        check_address(address)


def test_node_files_are_written_with_a_private_key(tmp_path):
    written = write_node_files(ClusterCA(tmp_path).issue_node("w1", ["127.0.0.1"]), tmp_path / "out")
    assert [p.name for p in written] == ["ca.pem", "node.pem", "node.key"]
    assert _mode(tmp_path / "out" / "node.key") == 0o600
    assert node_certs.load(tmp_path / "out").name == "w1"


def test_the_agent_refuses_certificate_files_it_cant_trust(tmp_path):
    ca = ClusterCA(tmp_path / "a")
    out = tmp_path / "out"
    write_node_files(ca.issue_node("w1", ["127.0.0.1"]), out)
    (out / "node.key").chmod(0o644)
    with pytest.raises(node_certs.CertsError, match=r"node.key can be read by other users \(mode 0644\)"):
        node_certs.load(out)
    (out / "node.key").chmod(0o600)
    # The server's certificate is not a node's.
    server = ca.server_credentials()
    (out / "node.pem").write_bytes(server.cert_pem)
    (out / "node.key").write_bytes(server.key_pem)
    with pytest.raises(node_certs.CertsError, match="is not a node certificate"):
        node_certs.load(out)
    # A node certificate of another CA.
    write_node_files(ClusterCA(tmp_path / "b").issue_node("w1", ["127.0.0.1"]), out)
    (out / "ca.pem").write_bytes(ca.pem)
    with pytest.raises(node_certs.CertsError, match="was not signed by the CA"):
        node_certs.load(out)
    (out / "node.key").unlink()
    with pytest.raises(node_certs.CertsError, match="node.key is missing: make them"):
        node_certs.load(out)


def test_the_node_cert_verb_writes_the_files_and_refuses_bad_input(tmp_path, capsys):
    from sbtui.cli import main
    from sbtui.cli.command import build_parser

    state, out = tmp_path / "state", tmp_path / "out"
    args = ["server", "node-cert", "w1", "--address", "127.0.0.1", "--state-dir", str(state)]
    args += ["--out", str(out)]
    assert main(args) == 0
    assert node_certs.load(out).name == "w1"
    with pytest.raises(SystemExit) as exit_:
        main(["server", "node-cert", "w 1", "--address", "127.0.0.1", "--out", str(out)])
    assert exit_.value.code == 2
    assert "node name 'w 1': use the node's host name" in capsys.readouterr().err
    # `sbtui server` alone still runs the server.
    assert build_parser().parse_args(["server", "--state-dir", str(state)]).run.__name__ == "_run_server"
