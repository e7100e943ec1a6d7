"""TCP servers want a token on every kind of call, serve TLS when given a certificate,
and never print the token; the Unix socket is private to its user. (What a token scoped to one
environment may do is in test_environments.py.)"""

from __future__ import annotations

import stat

import pytest

import sbtui
from sbtui.client import AuthenticationError
from tests.servers import IMAGE, ServerProcess, new_state_dir, new_tls_server

TOKEN = "tok-" + "s3cr3t" * 6


def serve_tls(engine: str, name: str, token: str):
    """A server on TCP with TLS (its certificate as `.ca`) and `token`; stopped when resumed."""
    proc = new_tls_server(engine, name, token).start()
    yield proc
    proc.dispose()


@pytest.fixture(scope="module")
def tls_server(engine):
    yield from serve_tls(engine, "tls", TOKEN)


async def test_tls_with_the_token_serves_every_kind_of_call(tls_server):
    assert tls_server.address.startswith("tls://127.0.0.1:")
    async with sbtui.Client.connect(tls_server.address, TOKEN, ca_cert=tls_server.ca) as client:
        app = await client.apps.from_name("auth", create_if_missing=True)
        sb = await client.sandboxes.create(app, client.images.from_registry(IMAGE))
        assert [s.sandbox_id async for s in client.sandboxes.list(app_id=app.app_id)] == [sb.sandbox_id]
        p = await sb.exec(["echo", "over tls"])
        assert await p.stdout.read() == b"over tls\n"
        assert await sb.terminate(wait=True) == 137


@pytest.mark.parametrize("token", [None, "wrong-token", TOKEN[:-1]])
async def test_missing_or_wrong_token_is_refused_on_every_kind_of_call(tls_server, token, monkeypatch):
    monkeypatch.delenv("SBTUI_TOKEN", raising=False)
    async with sbtui.Client.connect(tls_server.address, token, ca_cert=tls_server.ca) as client:
        with pytest.raises(AuthenticationError, match="token"):  # unary
            await client.apps.list()
        with pytest.raises(AuthenticationError):  # server streaming
            [s async for s in client.sandboxes.list()]
        with pytest.raises(AuthenticationError):  # server streaming, long-lived
            async for _ in client.sandboxes.watch():
                break
        good = await _some_sandbox(tls_server)
        handle = sbtui.client.Sandbox(client._connection, good.info)
        with pytest.raises(AuthenticationError):  # bidirectional exec stream
            await handle.exec(["true"])
        await good.terminate()


async def _some_sandbox(server):
    client = await sbtui.Client.connect(server.address, TOKEN, ca_cert=server.ca)
    app = await client.apps.from_name("auth", create_if_missing=True)
    return await client.sandboxes.create(app, client.images.from_registry(IMAGE))


async def test_token_never_appears_in_the_log(tls_server):
    assert TOKEN not in tls_server.log_text()


def test_plaintext_tcp_needs_an_explicit_insecure_flag(engine):
    server = ServerProcess(engine, new_state_dir(engine + "-plain"), extra=["--listen", "127.0.0.1:0"])
    try:
        out = server.run_refused()
        assert out.returncode == 1
        assert "refusing to serve plaintext TCP" in out.stderr and "--insecure" in out.stderr
    finally:
        server.dispose()


async def test_insecure_tcp_still_requires_the_generated_token(engine):
    proc = ServerProcess(
        engine, new_state_dir(engine + "-insecure"), extra=["--listen", "127.0.0.1:0", "--insecure"]
    ).start()
    try:
        token_file = proc.state_dir / "token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        assert token not in proc.log_text() and str(token_file) in proc.log_text()
        async with sbtui.Client.connect(proc.address) as client:
            with pytest.raises(AuthenticationError, match="bearer token is required"):
                await client.apps.list()
        async with sbtui.Client.connect(proc.address, token) as client:
            assert isinstance(await client.apps.list(), list)
    finally:
        proc.dispose()


async def test_scoped_tokens_work_over_insecure_tcp_and_outlive_a_restart(engine):
    proc = ServerProcess(
        engine, new_state_dir(engine + "-scoped"), extra=["--listen", "127.0.0.1:0", "--insecure"]
    ).start()
    try:
        admin = (proc.state_dir / "token").read_text().strip()
        async with sbtui.Client.connect(proc.address, admin) as client:
            kept = await client.tokens.create("dev", description="kept")
            dropped = await client.tokens.create("dev", description="dropped")
            await client.tokens.revoke(dropped.token_id)
        proc.stop()
        proc.start()  # the same state directory: tokens are in its SQLite file
        async with sbtui.Client.connect(proc.address, kept.value) as client:
            app = await client.apps.from_name("scoped", create_if_missing=True)
            assert app.environment == "dev"
        async with sbtui.Client.connect(proc.address, dropped.value) as client:
            with pytest.raises(AuthenticationError, match="not valid"):
                await client.apps.list()
        assert kept.value not in proc.log_text() and dropped.value not in proc.log_text()
    finally:
        proc.dispose()


def test_unix_socket_and_state_are_private(server):
    assert stat.S_IMODE(server.socket.stat().st_mode) == 0o600
    assert stat.S_IMODE(server.state_dir.stat().st_mode) == 0o700
