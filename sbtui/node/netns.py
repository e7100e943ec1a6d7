"""Sockets made inside a container's network namespace.

A swarm task's address is on an overlay network, which the node's own namespace does not
route to (and an internal network, block_network's, has no way in from the node at all). A
socket made inside the container's namespace reaches the container's address there, whatever
network it is on; it stays in that namespace after the thread that made it goes back.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"entering a network namespace: {os.strerror(number)}")


def _socket_in(pid: int, family: int) -> socket.socket:
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
        try:
            _setns(target)
            try:
                return socket.socket(family, socket.SOCK_STREAM)
            finally:
                _setns(own)  # back before this pool thread runs anything else
        finally:
            os.close(target)
    finally:
        os.close(own)


async def open_connection(
    pid: int, address: str, port: int, limit: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP connection to address:port made from the network namespace of process `pid`."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = await asyncio.to_thread(_socket_in, pid, family)
    try:
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (address, port))
    except BaseException:
        sock.close()
        raise
    return await asyncio.open_connection(sock=sock, limit=limit)
