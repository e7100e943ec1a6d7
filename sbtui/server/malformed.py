"""Requests that are not the protobuf message they claim to be get INVALID_ARGUMENT.

grpc.aio answers a body its deserializer can't parse with UNKNOWN "Unexpected DecodeError";
this interceptor parses in a way that lets the server say what was wrong instead.
"""

from __future__ import annotations

import grpc
from google.protobuf.message import DecodeError


class _Malformed:
    def __init__(self, problem: str) -> None:
        self.problem = problem


def _tolerant(deserialize, name: str):
    def parse(data: bytes):
        try:
            return deserialize(data)
        except (DecodeError, UnicodeDecodeError, ValueError) as err:
            return _Malformed(f"the request is not a valid {name} message: {err}")

    return parse


async def _refuse(context, malformed: _Malformed):
    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, malformed.problem)


def _checked_stream(requests, context):
    async def iterate():
        async for request in requests:
            if isinstance(request, _Malformed):
                await _refuse(context, request)
            yield request

    return iterate()


def _wrap(handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
    name = method.rsplit("/", 1)[-1] + " request"
    deserialize = _tolerant(handler.request_deserializer, name)
    kind = (handler.request_streaming, handler.response_streaming)
    if kind == (False, False):
        behaviour = handler.unary_unary

        async def unary_unary(request, context):
            if isinstance(request, _Malformed):
                await _refuse(context, request)
            return await behaviour(request, context)

        return grpc.unary_unary_rpc_method_handler(unary_unary, deserialize, handler.response_serializer)
    if kind == (False, True):
        behaviour = handler.unary_stream

        async def unary_stream(request, context):
            if isinstance(request, _Malformed):
                await _refuse(context, request)
            async for reply in behaviour(request, context):
                yield reply

        return grpc.unary_stream_rpc_method_handler(unary_stream, deserialize, handler.response_serializer)
    if kind == (True, True):
        behaviour = handler.stream_stream

        async def stream_stream(requests, context):
            async for reply in behaviour(_checked_stream(requests, context), context):
                yield reply

        return grpc.stream_stream_rpc_method_handler(stream_stream, deserialize, handler.response_serializer)
    behaviour = handler.stream_unary

    async def stream_unary(requests, context):
        return await behaviour(_checked_stream(requests, context), context)

    return grpc.stream_unary_rpc_method_handler(stream_unary, deserialize, handler.response_serializer)


class RejectMalformed(grpc.aio.ServerInterceptor):
    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        return _wrap(handler, handler_call_details.method)
