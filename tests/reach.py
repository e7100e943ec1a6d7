"""Reaching a sandbox's listener from another sandbox: traffic only between sandboxes a test
created (and their own loopback)."""

from __future__ import annotations

import asyncio

from tests.servers import until

# -ll: a persistent server, so a readiness probe does not use up the listener.
LISTEN = ["nc", "-ll", "-p", "7000", "-e", "echo", "pong"]


async def address(sb) -> str:
    """The sandbox's address on its network."""
    p = await sb.exec(["sh", "-c", "ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1"])
    return (await p.stdout.read()).decode().split()[0]


async def reaches(sb, target: str) -> bool:
    """Whether `sb` gets an answer from the LISTEN server at `target` (one try of 2 s)."""
    p = await sb.exec(["sh", "-c", f"echo ping | nc -w 2 {target} 7000"])
    out = await asyncio.wait_for(p.stdout.read(), 20)
    await p.wait()
    return out == b"pong\n"


async def listening(sb) -> None:
    """Wait until the sandbox's own loopback answers on 7000 (its server is up)."""
    await until(lambda: reaches(sb, "127.0.0.1"), 20, "the sandbox's server to answer on 7000")
