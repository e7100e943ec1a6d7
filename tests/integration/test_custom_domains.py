"""Custom domains only under the suffixes the operator allows, per environment.

A server on TCP allows `dev.tunnels.test` to environment `dev` and `shared.test` to every
environment. A sandbox's custom domain names the certificate of its encrypted tunnels, signed by
the CA clients trust: anything else (someone else's site) is refused at create, from a scoped
token and from the admin alike, and leaves nothing behind. Names are never resolved: the tests
connect to the tunnel host (loopback) and only name the host in TLS.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets as random
import shutil
import ssl

import pytest
from cryptography import x509

import sbtui
from sbtui.client import InvalidArgumentError
from tests import engine_view
from tests.integration.test_tunnels import READY, echo, running, verifying
from tests.servers import IMAGE, ServerProcess, new_state_dir

ADMIN = "admin-" + random.token_hex(24)
SUFFIXES = ["dev=dev.tunnels.test", "shared.test"]


@pytest.fixture(scope="module")
def domain_server(engine):
    state = new_state_dir(f"{engine}-domains")
    (state / "token-in").write_text(ADMIN)
    extra = ["--listen", "127.0.0.1:0", "--insecure", "--token-file", str(state / "token-in")]
    for suffix in SUFFIXES:
        extra += ["--custom-domain-suffix", suffix]
    proc = ServerProcess(engine, state, extra=extra).start()
    yield proc
    proc.dispose()


@pytest.fixture
async def admin(domain_server):
    async with sbtui.Client.connect(domain_server.address, ADMIN) as client:
        yield client


async def scoped(admin, server, environment: str):
    made = await admin.tokens.create(environment, description="custom domain tests")
    return sbtui.Client.connect(server.address, made.value)


async def _labelled(server) -> set[str]:
    return {c["id"] for c in await engine_view.labelled(server)}


async def refused(client, server, environment: str, domain: str) -> str:
    """The error of a create with `domain`, after checking that it left nothing behind."""
    app = await client.apps.from_name("domains", create_if_missing=True, environment=environment)
    before = await _labelled(server)
    with pytest.raises(InvalidArgumentError) as caught:
        await client.sandboxes.create(
            app,
            client.images.from_registry(IMAGE),
            custom_domain=domain,
            encrypted_ports=[8443],
            command=echo(8443),
            timeout=60,
        )
    assert caught.value.field == "custom_domain"
    assert [s async for s in client.sandboxes.list(app_id=app.app_id, include_finished=True)] == []
    assert await _labelled(server) == before
    return str(caught.value)


async def test_a_custom_domain_outside_the_allowed_suffixes_is_refused(admin, domain_server):
    async with await scoped(admin, domain_server, "dev") as dev:
        for domain in (
            "login.microsoftonline.com",
            "evildev.tunnels.test",
            "sb.dev.tunnels.test.evil.example",
            "tunnels.test",
        ):
            assert await refused(dev, domain_server, "", domain) == (
                f"custom_domain: {domain!r} is not allowed in environment 'dev': use a name under "
                "dev.tunnels.test or shared.test (or the suffix itself)"
            )
    # Another environment's suffix is not this one's.
    async with await scoped(admin, domain_server, "ops") as ops:
        assert await refused(ops, domain_server, "", "sb.dev.tunnels.test") == (
            "custom_domain: 'sb.dev.tunnels.test' is not allowed in environment 'ops': use a name "
            "under shared.test (or the suffix itself)"
        )
    # The admin is held to the same suffixes: no token could have the name.
    assert await refused(admin, domain_server, "main", "login.microsoftonline.com") == (
        "custom_domain: 'login.microsoftonline.com' is not allowed in environment 'main': use a "
        "name under shared.test (or the suffix itself)"
    )
    assert "sb.dev.tunnels.test" in await refused(admin, domain_server, "ops", "sb.dev.tunnels.test")


async def test_with_no_suffix_configured_every_custom_domain_is_refused(client, server):
    # The shared test server is started without --custom-domain-suffix.
    message = await refused(client, server, "main", "sb.example.com")
    assert message == (
        "custom_domain: 'sb.example.com' is not allowed: this server allows no custom domain in "
        "environment 'main'; its operator allows names under a suffix with `sbtui server "
        "--custom-domain-suffix main=SUFFIX` (or SUFFIX for every environment)"
    )


async def test_an_allowed_custom_domain_is_served_with_a_certificate_that_verifies(admin, domain_server):
    domain = "sb1.dev.tunnels.test"
    async with await scoped(admin, domain_server, "dev") as dev:
        app = await dev.apps.from_name("domains", create_if_missing=True)
        async with running(
            dev,
            app,
            dev.images.from_registry(IMAGE),
            command=echo(8443, 8080),
            custom_domain=domain,
            encrypted_ports=[8443],
            unencrypted_ports=[8080],
        ) as sb:
            tunnels = await sb.tunnels(timeout=READY)
            tunnel = tunnels[8443]
            assert tunnel.host == domain and tunnel.url == f"https://{domain}:{tunnel.port}"
            assert tunnels[8080].tcp_socket()[0] == domain
            pem = await dev.ca_certificate()
            constraints = (
                x509.load_pem_x509_certificate(pem.encode())
                .extensions.get_extension_for_class(x509.NameConstraints)
                .value
            )
            assert constraints.permitted_subtrees == [
                x509.DNSName("dev.tunnels.test"),
                x509.DNSName("shared.test"),
                x509.IPAddress(ipaddress.ip_network("127.0.0.1/32")),
            ]
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", tunnel.port, ssl=verifying(pem), server_hostname=domain
            )
            try:
                assert writer.get_extra_info("peercert")["subjectAltName"] == (("DNS", domain),)
                writer.write(b"ping\n")
                assert await asyncio.wait_for(reader.readline(), 15) == b"ping\n"
            finally:
                writer.close()
            # Verified for another name (here the address), the same certificate is refused.
            with pytest.raises(ssl.SSLCertVerificationError, match="127.0.0.1"):
                await asyncio.open_connection("127.0.0.1", tunnel.port, ssl=verifying(pem))


@pytest.mark.parametrize(
    "value, words",
    [
        ("bad domain", "SUFFIX: 'bad domain' is not a DNS name"),
        ("dev=x.test.", "no trailing dot"),
        ("a b=x.test", "'a b' is not an environment name"),
        ("=x.test", "'' is not an environment name"),
    ],
)
def test_a_bad_suffix_stops_the_server_at_start(value, words):
    state = new_state_dir("bad-suffix")
    try:
        out = ServerProcess("auto", state, extra=["--custom-domain-suffix", value]).run_refused()
        assert out.returncode == 1
        assert out.stderr.startswith(f"sbtui server: error: --custom-domain-suffix {value!r}: ")
        assert words in out.stderr
        assert not (state / "state.db").exists()  # refused before anything was made
    finally:
        shutil.rmtree(state, ignore_errors=True)
