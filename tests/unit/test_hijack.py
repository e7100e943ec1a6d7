"""HijackedStream's close, on a real Unix socket connection."""

from __future__ import annotations

import asyncio

from sbtui.server.runtime.hijack import HijackedStream


async def test_a_close_cancelled_mid_wait_does_not_fail_the_others(tmp_path):
    """The node agent closes an exec's engine connection from two tasks (the one that applies
    the server's messages, and the stream's end), and cancels the first. The second close must
    still end normally: an asyncio CancelledError leaking out of it ended the agent's call
    without its status, and the server waited for it (revocations that took 1.5 s and more)."""
    path = str(tmp_path / "engine.sock")
    server = await asyncio.start_unix_server(lambda reader, writer: None, path)
    try:
        reader, writer = await asyncio.open_unix_connection(path)
        stream = HijackedStream(reader, writer, tty=False)
        first = asyncio.ensure_future(stream.close())
        await asyncio.sleep(0)  # the first close has started and waits for the connection to close
        first.cancel()
        await asyncio.wait_for(stream.close(), 5)
        assert writer.is_closing()
    finally:
        server.close()
