"""Who the node agent answers, and whom the server trusts as a node: mutual TLS with the
cluster CA, the server's role checked by the agent, the node's name checked by the server.
Each refusal is asserted at the layer that makes it (the handshake, or the call)."""

from __future__ import annotations

import datetime
import shutil

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sbtui.proto import node_pb2 as pb
from sbtui.proto import node_pb2_grpc as pb_grpc
from sbtui.server.cluster_ca import ROLE_NODE, ClusterCA, Credentials
from sbtui.server.runtime.node_client import NodeAgentClient
from sbtui.server.runtime.node_errors import NodeRefused, NodeUnreachable
from tests.node_agents import AgentProcess, node_certs
from tests.servers import new_state_dir

pytestmark = pytest.mark.engine
NODE = "node-a"


@pytest.fixture(scope="session")
def agent(server):
    state = new_state_dir(f"{server.engine}-agent-auth")
    ca = ClusterCA(state)
    process = AgentProcess(node_certs(ca, NODE, state / "node-a"), server.engine_url, state).start()
    yield ca, process, state
    process.stop()
    shutil.rmtree(state, ignore_errors=True)


async def _info_code(channel: grpc.aio.Channel) -> grpc.StatusCode:
    try:
        await pb_grpc.NodeAgentStub(channel).Info(pb.InfoRequest(), timeout=20)
    except grpc.aio.AioRpcError as err:
        return err.code()
    finally:
        await channel.close()
    return grpc.StatusCode.OK


async def test_the_server_certificate_is_answered(agent):
    ca, process, _ = agent
    client = NodeAgentClient(process.address, NODE, ca.server_credentials())
    try:
        assert (await client.info()).node_name == NODE
    finally:
        await client.close()


async def test_a_client_without_a_certificate_is_refused_at_the_handshake(agent):
    ca, process, _ = agent
    credentials = grpc.ssl_channel_credentials(root_certificates=ca.pem)
    options = [("grpc.ssl_target_name_override", NODE)]
    # UNAVAILABLE: the handshake failed; a call let through would be refused as UNAUTHENTICATED.
    code = await _info_code(grpc.aio.secure_channel(process.address, credentials, options=options))
    assert code == grpc.StatusCode.UNAVAILABLE


async def test_a_certificate_of_another_ca_is_refused(agent, tmp_path):
    ca, process, _ = agent
    other = ClusterCA(tmp_path).server_credentials()
    # It trusts our CA, so only the agent can refuse.
    client = NodeAgentClient(process.address, NODE, Credentials(ca.pem, other.cert_pem, other.key_pem))
    try:
        with pytest.raises(NodeUnreachable):
            await client.info()
    finally:
        await client.close()


async def test_a_node_certificate_presented_as_the_server_is_refused_at_the_handshake(agent, tmp_path):
    ca, process, _ = agent
    certs = node_certs(ca, "node-b", tmp_path / "node-b")
    as_server = Credentials(ca.pem, (certs / "node.pem").read_bytes(), (certs / "node.key").read_bytes())
    client = NodeAgentClient(process.address, NODE, as_server)
    try:
        # Its extended key usage is server authentication only: TLS refuses it as a client's.
        with pytest.raises(NodeUnreachable):
            await client.info()
    finally:
        await client.close()


def _client_certificate(ca: ClusterCA, unit: str) -> Credentials:
    """A client-authentication certificate signed by the cluster CA for the role `unit`: one
    the CA does not issue, so that only the agent's check of the role can refuse it."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sbtui"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.COMMON_NAME, "node-b"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(x509.load_pem_x509_certificate(ca.pem).subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=True)
        .sign(ca._key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Credentials(ca.pem, cert.public_bytes(serialization.Encoding.PEM), pem_key)


async def test_a_client_certificate_of_another_role_is_refused_by_the_agent(agent):
    ca, process, _ = agent
    client = NodeAgentClient(process.address, NODE, _client_certificate(ca, ROLE_NODE))
    try:
        with pytest.raises(NodeRefused, match="not the sbtui server's"):
            await client.info()
    finally:
        await client.close()


async def test_plaintext_is_refused(agent):
    _, process, _ = agent
    assert await _info_code(grpc.aio.insecure_channel(process.address)) == grpc.StatusCode.UNAVAILABLE


async def test_the_server_refuses_an_agent_whose_certificate_names_another_node(agent):
    ca, process, _ = agent
    # The agent's certificate is node-a's, valid for 127.0.0.1: only its name is wrong.
    client = NodeAgentClient(process.address, "node-b", ca.server_credentials())
    try:
        with pytest.raises(NodeUnreachable, match=f"node node-b at {process.address}"):
            await client.info()
    finally:
        await client.close()


async def test_an_agent_that_does_not_answer_is_named_in_the_error(agent):
    ca, process, _ = agent
    client = NodeAgentClient("127.0.0.1:1", NODE, ca.server_credentials())
    try:
        with pytest.raises(
            NodeUnreachable, match=f"the agent of node {NODE} at 127.0.0.1:1 can't be reached"
        ):
            await client.info()
    finally:
        await client.close()


def test_a_second_agent_on_a_port_in_use_does_not_start(agent, tmp_path):
    """Not a share of the port (gRPC's default SO_REUSEPORT): the server's connections would go
    to either agent, of whatever CA."""
    _, process, _ = agent
    second = AgentProcess(process.certs, process.engine_url, tmp_path, listen=process.address)
    try:
        with pytest.raises(RuntimeError, match=f"could not listen on {process.address}"):
            second.start()
    finally:
        second.stop()
