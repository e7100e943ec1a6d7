"""The embedded default: a local server daemon on a private Unix socket, started on demand.

It outlives the program that started it (so sandbox timeouts keep being enforced) and exits
by itself when it has been idle with no sandbox left.
"""

from __future__ import annotations

import asyncio
import fcntl
import subprocess
import sys
import time
from pathlib import Path

import grpc

from sbtui import paths
from sbtui.client.errors import ConnectionLostError
from sbtui.proto import sandbox_pb2 as pb
from sbtui.proto import sandbox_pb2_grpc as pb_grpc

START_TIMEOUT = 90.0  # Podman's first start on a new machine can take a while


async def _answers(address: str) -> bool:
    async with grpc.aio.insecure_channel(address) as channel:
        try:
            await pb_grpc.SandboxServiceStub(channel).GetServerInfo(pb.ServerInfoRequest(), timeout=3)
            return True
        except grpc.aio.AioRpcError:
            return False


def _error_from_log(log: Path, offset: int) -> str:
    try:
        with open(log, "rb") as f:
            f.seek(offset)
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    errors = [line for line in lines if "error:" in line]
    return (errors or lines or [""])[-1]


async def ensure_server() -> str:
    """The address of the local server, starting one if none answers."""
    socket = paths.default_socket()
    address = f"unix://{socket}"
    if socket.exists() and await _answers(address):
        return address
    runtime = paths.private_dir(socket.parent)
    state = paths.private_dir(paths.state_dir())
    # One starter at a time: concurrent programs wait for the first one's server.
    lock = open(runtime / "start.lock", "w")
    try:
        await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
        if socket.exists() and await _answers(address):
            return address
        log_path = state / "server.log"
        with open(log_path, "ab") as log:
            offset = log.tell()
            process = subprocess.Popen(
                # -P: not the current directory's `sbtui` (a checkout) but the caller's own.
                [sys.executable, "-P", "-m", "sbtui", "server", "--daemon"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                close_fds=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                reason = _error_from_log(log_path, offset)
                raise ConnectionLostError(
                    f"the local sbtui server could not start: {reason or 'see ' + str(log_path)}"
                )
            if socket.exists() and await _answers(address):
                return address
            if time.monotonic() > deadline:
                raise ConnectionLostError(
                    f"the local sbtui server did not answer within {START_TIMEOUT:.0f} s; see {log_path}"
                )
            await asyncio.sleep(0.05)
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
