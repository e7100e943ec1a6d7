"""The Engine API's hijacked exec stream, on a connection of our own.

aiodocker's Stream can only close both directions at once; a sandbox exec needs to send
stdin EOF and keep reading output, so the upgraded connection is opened here directly.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

from sbtui.server.runtime.base import EngineError, EngineNotFound
from sbtui.server.runtime.engine_api import FRAME

_READ_SIZE = 1 << 16


async def open_connection(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return await asyncio.open_unix_connection(parts.path, limit=_READ_SIZE * 4)
    if parts.scheme in ("tcp", "http"):
        return await asyncio.open_connection(parts.hostname, parts.port or 2375, limit=_READ_SIZE * 4)
    raise EngineError(f"engine address {url!r} is not supported: use unix:///path or tcp://host:port")


async def answers(url: str) -> bool:
    """Whether the engine at `url` takes a new connection and answers a ping on it.

    A new connection on purpose: an engine that is stopping (dockerd) closes its listener
    first and goes on serving the connections it has for a while."""
    try:
        reader, writer = await asyncio.wait_for(open_connection(url), 2)
    except (OSError, asyncio.TimeoutError, EngineError):
        return False
    try:
        writer.write(b"GET /_ping HTTP/1.1\r\nHost: engine\r\nConnection: close\r\n\r\n")
        line = await asyncio.wait_for(reader.readline(), 5)
        return b" 200 " in line
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
        return False
    finally:
        writer.close()


class HijackedStream:
    """Output demultiplexing, stdin and half-close over an upgraded Engine API connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tty: bool) -> None:
        self._reader = reader
        self._writer = writer
        self._tty = tty
        self._stdin_closed = False
        self._closing: asyncio.Future[None] | None = None

    @classmethod
    async def start(cls, url: str, path: str, body: dict, tty: bool) -> "HijackedStream":
        reader, writer = await open_connection(url)
        payload = json.dumps(body).encode()
        writer.write(
            (
                f"POST {path} HTTP/1.1\r\nHost: engine\r\nContent-Type: application/json\r\n"
                f"Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: {len(payload)}\r\n\r\n"
            ).encode()
            + payload
        )
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, _, header_block = head.decode("latin-1").partition("\r\n")
        try:
            status = int(status_line.split()[1])
        except (IndexError, ValueError):
            writer.close()
            raise EngineError(f"engine answered {status_line!r} to an exec start") from None
        if status >= 400:
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in header_block.split("\r\n"))
            }
            length = int(headers.get("content-length", "0") or 0)
            raw = await reader.read(length) if length else b""
            writer.close()
            try:
                message = json.loads(raw).get("message", raw.decode(errors="replace"))
            except ValueError:
                message = raw.decode(errors="replace")
            error = EngineNotFound if status == 404 else EngineError
            raise error(message or f"exec start failed with HTTP {status}", status)
        return cls(reader, writer, tty)

    async def read(self) -> tuple[int, bytes] | None:
        """The next chunk of output; None at its end. EngineError when the connection broke
        (the engine went away): the command's end is then unknown, not an end of output."""
        try:
            if self._tty:
                data = await self._reader.read(_READ_SIZE)
                return (1, data) if data else None
            try:
                header = await self._reader.readexactly(FRAME.size)
            except asyncio.IncompleteReadError as err:
                if not err.partial:
                    return None  # the end, between two frames
                raise
            fd, length = FRAME.unpack(header)
            return (fd if fd in (1, 2) else 1, await self._reader.readexactly(length))
        except asyncio.IncompleteReadError:
            # Cut inside a frame: the engine never ends the output so.
            raise EngineError("the engine's stream of the command's output broke off") from None
        except (ConnectionError, OSError) as err:
            raise EngineError(f"the engine's stream of the command's output broke: {err}") from None

    async def write(self, data: bytes) -> None:
        if self._stdin_closed:
            raise EngineError("stdin is already closed")
        self._writer.write(data)
        await self._writer.drain()

    async def close_stdin(self) -> None:
        if self._stdin_closed:
            return
        self._stdin_closed = True
        if self._writer.can_write_eof():
            self._writer.write_eof()

    async def close(self) -> None:
        """Close the connection; every caller returns once it is closed. The wait runs in one
        task of its own: StreamWriter.wait_closed awaits a future shared by all its callers,
        which a caller cancelled mid-wait would cancel for the others (they then raise
        CancelledError though nobody cancelled them)."""
        if self._closing is None:
            self._writer.close()
            self._closing = asyncio.ensure_future(self._closed())
        await asyncio.shield(self._closing)

    async def _closed(self) -> None:
        try:
            await self._writer.wait_closed()
        except (ConnectionError, OSError):
            pass
