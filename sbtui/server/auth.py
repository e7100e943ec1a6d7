"""Who may call, for every kind of RPC: bearer tokens on TCP, the socket's owner on Unix.

Each call is bound to its caller (sbtui.server.scope), which the service asks what the call
may see; a scoped caller's streaming calls are registered with its token, so revoking the token
ends them.
"""

from __future__ import annotations

import asyncio
import hmac

import grpc

from sbtui.server import scope
from sbtui.server.tokens import Tokens

FIRST_MESSAGE_WAIT = 5.0


def _denied(handler: grpc.RpcMethodHandler, message: str) -> grpc.RpcMethodHandler:
    async def abort(request, context):
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    async def abort_stream(request, context):
        if handler.request_streaming:
            # Take the first message before refusing: a client writing it while the refusal
            # is on its way would otherwise see its write fail, not the refusal.
            try:
                await asyncio.wait_for(anext(aiter(request)), FIRST_MESSAGE_WAIT)
            except (StopAsyncIteration, asyncio.TimeoutError):
                pass
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
        yield  # pragma: no cover - makes this an async generator

    kinds = {
        (False, False): grpc.unary_unary_rpc_method_handler,
        (False, True): grpc.unary_stream_rpc_method_handler,
        (True, False): grpc.stream_unary_rpc_method_handler,
        (True, True): grpc.stream_stream_rpc_method_handler,
    }
    make = kinds[(handler.request_streaming, handler.response_streaming)]
    return make(
        abort_stream if handler.response_streaming else abort,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class TokenAuth(grpc.aio.ServerInterceptor):
    """TCP: the server's own token makes an admin caller, a scoped token one of its environment."""

    def __init__(self, token: str, tokens: Tokens) -> None:
        self._expected = f"Bearer {token}".encode()
        self._tokens = tokens

    async def intercept_service(self, continuation, handler_call_details):
        given = ""
        for key, value in handler_call_details.invocation_metadata or ():
            if key == "authorization":
                given = value if isinstance(value, str) else value.decode(errors="replace")
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        if hmac.compare_digest(given.encode(), self._expected):
            return scope.bind(handler, scope.ADMIN)
        bearer, _, value = given.partition(" ")
        record = self._tokens.find(value) if bearer == "Bearer" and value else None
        if record is not None:
            token_id = record.token_id
            return scope.bind(
                handler, scope.Caller(record.environment, token_id), lambda: self._tokens.streaming(token_id)
            )
        problem = "a bearer token is required" if not given else "the token is not valid"
        return _denied(handler, f"{problem}: pass token= or set SBTUI_TOKEN")


class SocketAuth(grpc.aio.ServerInterceptor):
    """The Unix socket: only its owner can connect (mode 0600), so every caller is the admin."""

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        return scope.bind(handler, scope.ADMIN)
