"""Who is calling: the environment a call may see, carried from authentication to the service.

Which task grpc.aio runs an interceptor in, relative to the call's behaviour, is its own affair
and not promised, so a value an interceptor sets in its own context need not reach the service.
`bind` wraps the behaviour functions of a handler instead: the caller is set inside the task
that runs the call, where the service, and every task it starts (which copy the context), read
it with `current()`.

A caller is either an admin (the server's own token, or the private Unix socket), who sees
every environment, or holds a token scoped to one environment, whose streaming calls end when
it is revoked (`bind`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from dataclasses import dataclass
from typing import AsyncGenerator, Awaitable, Callable, ContextManager, TypeVar

import grpc

from sbtui.server import validation
from sbtui.server.errors import ServiceError
from sbtui.server.tokens import OpenStream

T = TypeVar("T")


DEFAULT_ENVIRONMENT = "main"


def environment_of(name: str) -> str:
    return name or DEFAULT_ENVIRONMENT


@dataclass(frozen=True)
class Caller:
    scope: str | None  # the one environment a scoped token may use; None: every environment
    token_id: str = ""

    @property
    def admin(self) -> bool:
        return self.scope is None

    def environment(self, requested: str) -> str:
        """The environment a request names, with "" meaning the caller's own.

        An admin's "" is the default environment "main"; a scoped caller naming another
        environment than its own is refused, with both named.
        """
        validation.check_environment(requested)
        if self.scope is None:
            return environment_of(requested)
        if requested and requested != self.scope:
            raise ServiceError(
                grpc.StatusCode.PERMISSION_DENIED,
                f"this token is scoped to environment {self.scope!r} and cannot use environment "
                f"{requested!r}: leave the environment empty (it means {self.scope!r}) or use a "
                "token of that environment",
                field="environment",
            )
        return self.scope

    def sees(self, environment: str) -> bool:
        return self.scope is None or environment == self.scope

    def require_admin(self, what: str) -> None:
        if self.scope is not None:
            raise ServiceError(
                grpc.StatusCode.PERMISSION_DENIED,
                f"{what} needs the server's admin token; this token is scoped to environment {self.scope!r}",
            )


ADMIN = Caller(scope=None)

_current: contextvars.ContextVar[Caller] = contextvars.ContextVar("sbtui_caller")


def current() -> Caller:
    try:
        return _current.get()
    except LookupError:
        # Every server installs an interceptor that binds a caller; refusing is the safe
        # answer if a call ever got past it without one.
        raise ServiceError(
            grpc.StatusCode.PERMISSION_DENIED, "this call carries no authenticated caller"
        ) from None


REVOKED = "the token was revoked while this call was open; ask the server's operator for a valid token"


def bind(
    handler: grpc.RpcMethodHandler,
    caller: Caller,
    opened: Callable[[], ContextManager[OpenStream]] | None = None,
) -> grpc.RpcMethodHandler:
    """`handler` with `caller` set for its behaviour.

    A streaming call of a scoped token runs inside `opened()`, which registers it with its
    token (Tokens.streaming). Revoking the token cancels the call's task wherever it waits
    (for a command's output, stdin, a log, an event, or the client to take a reply); its
    behaviour cleans up as for a client that left (an exec's processes are killed), then the
    call ends with UNAUTHENTICATED. Replies are written here rather than yielded to grpc, so
    the wait for the client to take one is inside this function too and the cancellation
    always lands where it is turned into that status.
    """
    kind = (handler.request_streaming, handler.response_streaming)

    async def revocable(work: Callable[[], Awaitable[T]], context) -> T:
        if opened is None:
            return await work()
        with opened() as stream:
            if not stream.revoked:
                try:
                    return await work()
                except asyncio.CancelledError:
                    if not stream.revoked or context.done():
                        raise  # the client left, or the call had ended already
                    asyncio.current_task().uncancel()
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, REVOKED)
        raise AssertionError("context.abort() always raises")

    async def send(replies: AsyncGenerator, context) -> None:
        async with contextlib.aclosing(replies):
            async for reply in replies:
                await context.write(reply)

    if kind == (False, False):
        behaviour = handler.unary_unary

        async def unary_unary(request, context):
            # Not registered: a unary call is short, and one cut halfway (a create) could
            # leave what it made behind.
            _current.set(caller)
            return await behaviour(request, context)

        make, wrapped = grpc.unary_unary_rpc_method_handler, unary_unary
    elif kind == (False, True):
        behaviour = handler.unary_stream

        async def unary_stream(request, context):
            _current.set(caller)
            await revocable(lambda: send(behaviour(request, context), context), context)

        make, wrapped = grpc.unary_stream_rpc_method_handler, unary_stream
    elif kind == (True, False):
        behaviour = handler.stream_unary

        async def stream_unary(requests, context):
            _current.set(caller)
            return await revocable(lambda: behaviour(requests, context), context)

        make, wrapped = grpc.stream_unary_rpc_method_handler, stream_unary
    else:
        behaviour = handler.stream_stream

        async def stream_stream(requests, context):
            _current.set(caller)
            await revocable(lambda: send(behaviour(requests, context), context), context)

        make, wrapped = grpc.stream_stream_rpc_method_handler, stream_stream
    return make(
        wrapped,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
