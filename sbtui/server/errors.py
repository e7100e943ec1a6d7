"""Errors the server answers with: a gRPC status code and a message a person can act on."""

from __future__ import annotations

import grpc

# Messages travel in a gRPC trailer, which clients refuse past 8 KiB; values a client sent are
# quoted in messages, so a huge one is cut here rather than turn the error into a transport one.
MAX_MESSAGE = 1000


def clip(message: str) -> str:
    if len(message) <= MAX_MESSAGE:
        return message
    return message[: MAX_MESSAGE - 40] + f"… ({len(message)} characters in all)"


# Trailing-metadata key naming the request field an error is about, so a form can show the
# message next to that field without parsing it.
FIELD_KEY = "sbtui-field"


class ServiceError(Exception):
    def __init__(self, code: grpc.StatusCode, message: str, field: str = "") -> None:
        message = clip(message)
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        # "cmd[0]" is about "cmd"; metadata values are ASCII, field names always are.
        return ((FIELD_KEY, self.field.split("[")[0]),) if self.field else ()


def invalid(field: str, problem: str) -> ServiceError:
    return ServiceError(grpc.StatusCode.INVALID_ARGUMENT, f"{field}: {problem}", field)


def not_found(message: str, field: str = "") -> ServiceError:
    return ServiceError(grpc.StatusCode.NOT_FOUND, message, field)


def already_exists(message: str, field: str = "") -> ServiceError:
    return ServiceError(grpc.StatusCode.ALREADY_EXISTS, message, field)


def precondition(message: str) -> ServiceError:
    return ServiceError(grpc.StatusCode.FAILED_PRECONDITION, message)


def unsupported(field: str, reason: str) -> ServiceError:
    return ServiceError(
        grpc.StatusCode.FAILED_PRECONDITION, f"{field} is not supported by this server: {reason}", field
    )
