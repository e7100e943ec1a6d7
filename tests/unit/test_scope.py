"""The caller set by authentication reaches the behaviour of every kind of RPC, the tasks it
starts and the reading of its request stream; scoped tokens are kept only as hashes and stop
working as soon as they are revoked, open streams included.

A real grpc.aio server with the real interceptors, on a Unix socket, serves four small methods
(one per RPC kind) that answer with the environment they see, three streaming ones that,
once started, wait for nothing that ever comes, and one that sends more than its client reads.
"""

from __future__ import annotations

import asyncio
import contextvars

import grpc
import pytest

from sbtui.server import scope
from sbtui.server.auth import SocketAuth, TokenAuth
from sbtui.server.errors import ServiceError
from sbtui.server.store import Store
from sbtui.server.tokens import Tokens, digest

ADMIN_TOKEN = "admin-" + "x" * 40
SERVICE = "sbtui.test.Scope"


def _seen() -> str:
    caller = scope.current()
    return "*" if caller.admin else caller.scope


async def _both() -> bytes:
    # Read in a task of its own as well: the service starts such tasks (the exec input pump).
    return f"{_seen()}|{await asyncio.create_task(_async_seen())}".encode()


async def _async_seen() -> str:
    return _seen()


async def unary_unary(request, context):
    return await _both()


async def unary_stream(request, context):
    yield await _both()
    for _ in range(int(request or b"1") - 1):
        yield await _both()
        await asyncio.sleep(0.01)


async def stream_unary(requests, context):
    seen = []

    async def pump():
        async for _ in requests:
            seen.append(_seen())

    await asyncio.create_task(pump())
    return (await _both()) + b"|" + ",".join(seen).encode()


async def stream_stream(requests, context):
    async for _ in requests:
        yield await _both()


# The silent methods: each says it started, then waits forever; `cleaned` lists those whose
# cleanup ran.
started: asyncio.Queue[str] = asyncio.Queue()
cleaned: list[str] = []


async def _silent(name: str) -> None:
    started.put_nowait(name)
    try:
        await asyncio.Event().wait()
    finally:
        cleaned.append(name)


async def silent_server_stream(request, context):
    yield await _both()
    await _silent("SilentServerStream")


async def silent_client_stream(requests, context):
    await _silent("SilentClientStream")


async def silent_bidi(requests, context):
    await anext(requests)
    yield await _both()
    await _silent("SilentBidi")
    yield b"never"


async def flood(request, context):
    try:
        while True:
            yield b"x" * (1 << 20)
    finally:
        cleaned.append("Flood")


HANDLERS = {
    "Unary": grpc.unary_unary_rpc_method_handler(unary_unary),
    "ServerStream": grpc.unary_stream_rpc_method_handler(unary_stream),
    "ClientStream": grpc.stream_unary_rpc_method_handler(stream_unary),
    "Bidi": grpc.stream_stream_rpc_method_handler(stream_stream),
    "SilentServerStream": grpc.unary_stream_rpc_method_handler(silent_server_stream),
    "SilentClientStream": grpc.stream_unary_rpc_method_handler(silent_client_stream),
    "SilentBidi": grpc.stream_stream_rpc_method_handler(silent_bidi),
    "Flood": grpc.unary_stream_rpc_method_handler(flood),
}


@pytest.fixture
async def served(tmp_path):
    store = Store(tmp_path / "state.db")
    tokens = Tokens(store)
    servers = {}
    for name, auth in (("tcp", TokenAuth(ADMIN_TOKEN, tokens)), ("socket", SocketAuth())):
        server = grpc.aio.server(interceptors=[auth])
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, HANDLERS),))
        path = tmp_path / f"{name}.sock"
        assert server.add_insecure_port(f"unix://{path}")
        await server.start()
        servers[name] = (server, f"unix://{path}")
    yield tokens, store, {name: address for name, (_, address) in servers.items()}
    for server, _ in servers.values():
        await server.stop(None)
    store.close()


async def _every_kind(address: str, token: str | None) -> list[str]:
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    async with grpc.aio.insecure_channel(address) as channel:

        def method(kind, name):
            return getattr(channel, kind)(f"/{SERVICE}/{name}")

        unary = await method("unary_unary", "Unary")(b"", metadata=metadata)
        streamed = [r async for r in method("unary_stream", "ServerStream")(b"2", metadata=metadata)]
        client_stream = await method("stream_unary", "ClientStream")(iter([b"a", b"b"]), metadata=metadata)
        bidi = [r async for r in method("stream_stream", "Bidi")(iter([b"a"]), metadata=metadata)]
    return [r.decode() for r in (unary, *streamed, client_stream, *bidi)]


async def test_every_kind_of_call_sees_its_callers_environment(served):
    tokens, _, address = served
    _, dev = tokens.create("dev", "ci")
    _, prod = tokens.create("prod", "")
    assert await _every_kind(address["tcp"], ADMIN_TOKEN) == ["*|*"] * 3 + ["*|*|*,*", "*|*"]
    assert await _every_kind(address["tcp"], dev) == ["dev|dev"] * 3 + ["dev|dev|dev,dev", "dev|dev"]
    assert await _every_kind(address["tcp"], prod) == ["prod|prod"] * 3 + ["prod|prod|prod,prod", "prod|prod"]
    # The Unix socket is private to its owner: every caller there is the admin, token or not.
    assert await _every_kind(address["socket"], None) == ["*|*"] * 3 + ["*|*|*,*", "*|*"]
    assert await _every_kind(address["socket"], dev) == ["*|*"] * 3 + ["*|*|*,*", "*|*"]


async def test_a_revoked_token_is_refused_at_its_next_call(served):
    tokens, _, address = served
    record, value = tokens.create("dev", "")
    assert await _every_kind(address["tcp"], value)
    tokens.revoke(record.token_id)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _every_kind(address["tcp"], value)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "not valid" in refused.value.details()


async def test_revoking_ends_open_streams_at_once_after_their_cleanup(served):
    tokens, _, address = served
    record, value = tokens.create("dev", "")
    metadata = (("authorization", f"Bearer {value}"),)
    async with grpc.aio.insecure_channel(address["tcp"]) as channel:
        server_stream = channel.unary_stream(f"/{SERVICE}/SilentServerStream")(b"", metadata=metadata)
        assert await server_stream.read() == b"dev|dev"
        client_stream = channel.stream_unary(f"/{SERVICE}/SilentClientStream")(metadata=metadata)
        await client_stream.write(b"")
        bidi = channel.stream_stream(f"/{SERVICE}/SilentBidi")(metadata=metadata)
        await bidi.write(b"")
        assert await bidi.read() == b"dev|dev"
        names = {"SilentServerStream", "SilentClientStream", "SilentBidi"}
        async with asyncio.timeout(10):
            assert {await started.get() for _ in names} == names

        tokens.revoke(record.token_id)
        async with asyncio.timeout(1):
            for call in (server_stream.read(), client_stream, bidi.read()):
                with pytest.raises(grpc.aio.AioRpcError) as cut:
                    await call
                assert cut.value.code() == grpc.StatusCode.UNAUTHENTICATED
                assert cut.value.details() == scope.REVOKED
        # Each call's own cleanup ran before its status was sent.
        assert names <= set(cleaned)


async def test_revoking_ends_a_stream_waiting_for_its_client_to_read(served):
    # The call waits inside its reply write (flow control) when the revocation comes: it still
    # ends with the status, after its cleanup, once the client reads what was sent before.
    tokens, _, address = served
    record, value = tokens.create("dev", "")
    async with grpc.aio.insecure_channel(address["tcp"]) as channel:
        call = channel.unary_stream(f"/{SERVICE}/Flood")(
            b"", metadata=(("authorization", f"Bearer {value}"),)
        )
        assert len(await call.read()) == 1 << 20
        tokens.revoke(record.token_id)
        with pytest.raises(grpc.aio.AioRpcError) as cut:
            async with asyncio.timeout(10):
                while True:
                    await call.read()
        assert cut.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert cut.value.details() == scope.REVOKED
        assert "Flood" in cleaned


async def test_a_stream_starting_after_its_token_is_revoked_is_revoked_at_once(tmp_path):
    # The window between a call's authentication and its handler's start (grpc reads the
    # request in between): the handler's registration sees the revocation.
    store = Store(tmp_path / "state.db")
    tokens = Tokens(store)
    record, _ = tokens.create("dev", "")
    tokens.revoke(record.token_id)
    with tokens.streaming(record.token_id) as stream:
        assert stream.revoked
    store.close()


async def test_tokens_are_stored_as_hashes_and_survive_a_restart(served, tmp_path):
    tokens, store, _ = served
    record, value = tokens.create("dev", "laptop")
    assert value.startswith("sbtui_") and len(value) > 40
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))
    assert value.encode() not in on_disk and digest(value).encode() in on_disk
    again = Tokens(store)
    assert again.find(value) == record
    assert [t.token_id for t in again.list("dev")] == [record.token_id] and again.list("prod") == []
    again.revoke(record.token_id)
    assert Tokens(store).find(value) is None


@pytest.mark.parametrize(
    "environment, description, problem",
    [
        ("", "", "environment: give the environment"),
        ("no such/env", "", "environment: is not a valid name"),
        ("dev", "x" * 201, "description: is 201 characters long"),
        ("dev", "two\nlines", "description: contains control characters"),
    ],
)
def test_bad_token_requests_are_refused_by_field(tmp_path, environment, description, problem):
    store = Store(tmp_path / "state.db")
    with pytest.raises(ServiceError) as refused:
        Tokens(store).create(environment, description)
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.message.startswith(problem)
    assert Tokens(store).list() == []
    store.close()


def test_revoking_needs_an_id_that_exists(tmp_path):
    store = Store(tmp_path / "state.db")
    tokens = Tokens(store)
    with pytest.raises(ServiceError, match="token_id: give the id") as refused:
        tokens.revoke("")
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(ServiceError, match="token 'tk-nope' does not exist") as refused:
        tokens.revoke("tk-nope")
    assert refused.value.code == grpc.StatusCode.NOT_FOUND
    store.close()


def test_a_scoped_caller_names_its_environment_or_none():
    dev = scope.Caller("dev", "tk-1")
    assert dev.environment("") == "dev" and dev.environment("dev") == "dev"
    with pytest.raises(ServiceError) as denied:
        dev.environment("prod")
    assert denied.value.code == grpc.StatusCode.PERMISSION_DENIED
    assert "'dev'" in denied.value.message and "'prod'" in denied.value.message
    assert scope.ADMIN.environment("") == "main" and scope.ADMIN.environment("prod") == "prod"
    assert dev.sees("dev") and not dev.sees("main") and scope.ADMIN.sees("anything")
    with pytest.raises(ServiceError, match="admin token"):
        dev.require_admin("creating tokens")
    scope.ADMIN.require_admin("creating tokens")


async def test_a_call_with_no_caller_bound_is_refused():
    # Fails closed: a task that no interceptor bound (none exists today) is nobody.
    async def outside():
        return scope.current()

    with pytest.raises(ServiceError) as refused:
        await asyncio.create_task(outside(), context=contextvars.Context())
    assert refused.value.code == grpc.StatusCode.PERMISSION_DENIED
