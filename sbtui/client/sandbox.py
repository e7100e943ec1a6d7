"""Sandbox: a handle to one sandbox, with the seed's methods."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, AsyncIterator, Literal

from sbtui.client import wire
from sbtui.client.errors import FailedPreconditionError, SandboxTimeoutError
from sbtui.client.models import (
    INT32_MAX,
    Duration,
    Image,
    LogChunk,
    SandboxInfo,
    Secret,
    TerminationReason,
    Tunnel,
    seconds,
    whole,
)
from sbtui.client.process import ContainerProcess
from sbtui.proto import sandbox_pb2 as pb

if TYPE_CHECKING:
    from sbtui.client.connection import Connection

StdioBehavior = Literal["pipe", "ignore"]
_STDIO = {"pipe": pb.STDIO_PIPE, "ignore": pb.STDIO_IGNORE}


def _stdio(name: str, value: str) -> pb.StdioBehavior:
    if value not in _STDIO:
        raise ValueError(f"{name} must be 'pipe' or 'ignore', not {value!r}")
    return _STDIO[value]


def secret_names(secrets) -> list[str]:
    """Secrets given as Secret objects or names, by name."""
    names = []
    for secret in secrets or ():
        names.append(secret.name if isinstance(secret, Secret) else str(secret))
    return names


class Sandbox:
    def __init__(self, connection: "Connection", info: SandboxInfo) -> None:
        self._connection = connection
        self.sandbox_id = info.sandbox_id
        self.info = info
        self._detached = False

    def __repr__(self) -> str:
        return f"Sandbox({self.sandbox_id!r}, state={self.info.state})"

    def _check(self) -> "Connection":
        if self._detached:
            raise FailedPreconditionError(f"sandbox handle {self.sandbox_id} was detached")
        return self._connection

    async def refresh(self) -> SandboxInfo:
        """Fetch the sandbox's current state from the server."""
        reply = await self._check().call(
            "SandboxFromId", pb.SandboxFromIdRequest(sandbox_id=self.sandbox_id), safe=True
        )
        self.info = wire.sandbox_info(reply)
        return self.info

    async def exec(
        self,
        command: list[str],
        *,
        stdout: StdioBehavior = "pipe",
        stderr: StdioBehavior = "pipe",
        workdir: str | None = None,
        timeout: Duration | None = None,
        env: dict[str, str] | None = None,
        secrets: list[Secret | str] | None = None,
        pty: bool = False,
        pty_size: tuple[int, int] = (24, 80),
        term: str | None = None,
        text: bool = False,
    ) -> ContainerProcess:
        """Run `command` in the sandbox. With text=True, stdout/stderr give str instead of bytes."""
        if isinstance(command, str):
            raise TypeError("command must be a list of strings, e.g. ['sh', '-c', 'echo hi']")
        start = pb.ExecStart(
            sandbox_id=self.sandbox_id,
            command=list(command),
            workdir=workdir or "",
            env=env or {},
            secret_ids=secret_names(secrets),
            stdout=_stdio("stdout", stdout),
            stderr=_stdio("stderr", stderr),
            pty=pty,
            rows=whole(pty_size[0], "pty_size", 0, 1000),
            cols=whole(pty_size[1], "pty_size", 0, 1000),
            term=term or "",
        )
        limit = seconds(timeout, "timeout")
        if limit is not None:
            start.timeout = limit
        connection = self._check()
        channel, stub = (
            (connection.terminal_channel, connection.terminal_stub)
            if pty
            else (connection.channel, connection.stub)
        )
        await connection.reconnected(channel)
        return await ContainerProcess.start(stub, start, connection.metadata, text)

    async def terminate(self, *, wait: bool = False) -> int | None:
        """Stop the sandbox; with wait=True, wait for it to exit and return its exit code."""
        reply = await self._check().call(
            "SandboxTerminate", pb.SandboxTerminateRequest(sandbox_id=self.sandbox_id, wait=wait), safe=True
        )
        return wire.exit_code(reply)

    async def wait(self, *, raise_on_timeout: bool = True) -> int:
        """Block until the sandbox exits and return its exit code.

        Raises SandboxTimeoutError when the server ended it for its Timeout or IdleTimeout,
        unless raise_on_timeout is False.
        """
        connection = self._check()
        while True:
            reply = await connection.call(
                "SandboxWait", pb.SandboxWaitRequest(sandbox_id=self.sandbox_id, timeout=50), safe=True
            )
            if reply.done:
                break
        reason = wire.termination_reason(reply.termination_reason)
        if raise_on_timeout and reason in (TerminationReason.TIMEOUT, TerminationReason.IDLE_TIMEOUT):
            raise SandboxTimeoutError(
                f"sandbox {self.sandbox_id} was stopped by its {reason} (exit code {reply.exit_code})",
                reply.exit_code,
            )
        return reply.exit_code

    async def poll(self) -> int | None:
        """The exit code if the sandbox has finished, else None."""
        reply = await self._check().call(
            "SandboxPoll", pb.SandboxPollRequest(sandbox_id=self.sandbox_id), safe=True
        )
        return wire.exit_code(reply)

    async def tunnels(self, timeout: Duration = 50) -> dict[int, Tunnel]:
        """Tunnels of the declared ports, keyed by container port, once they are ready:
        once something in the sandbox accepts connections on every one of them.

        Raises SandboxTimeoutError, naming the ports, when they are not ready within
        `timeout`, and FailedPreconditionError when the sandbox declared no ports or has
        finished. Verify encrypted tunnels with the CA of ``client.ca_certificate()``.
        """
        limit = seconds(timeout, "timeout")
        if limit is None:
            raise TypeError("timeout is required: seconds to wait for the tunnels to be ready")
        reply = await self._check().call(
            "SandboxTunnels",
            pb.SandboxTunnelsRequest(sandbox_id=self.sandbox_id, timeout=limit),
            safe=True,
            timeout=limit + 10,
        )
        return wire.tunnels(reply)

    async def snapshot_filesystem(self, timeout: Duration = 300) -> Image:
        limit = seconds(timeout, "timeout")
        try:
            reply = await self._check().call(
                "SandboxSnapshotFilesystem",
                pb.SandboxSnapshotFilesystemRequest(sandbox_id=self.sandbox_id, timeout=limit),
                timeout=limit + 10,
            )
        except asyncio.TimeoutError:
            raise SandboxTimeoutError(f"the snapshot did not finish within {limit} s") from None
        return wire.image(reply)

    async def logs(self, *, follow: bool = False, tail: int = 0) -> AsyncIterator[LogChunk]:
        """The main command's output (the last `tail` lines if > 0); with follow, new output
        as it comes until the sandbox exits. Kept after exit (the last 256 KiB)."""
        request = pb.SandboxLogsRequest(
            sandbox_id=self.sandbox_id, follow=follow, tail_lines=whole(tail, "tail", 0, INT32_MAX)
        )
        async for chunk in self._check().stream("SandboxLogs", request):
            yield wire.log_chunk(chunk)

    async def set_tags(self, tags: dict[str, str]) -> None:
        """Replace the sandbox's tags."""
        await self._check().call(
            "SandboxSetTags", pb.SandboxSetTagsRequest(sandbox_id=self.sandbox_id, tags=tags), safe=True
        )
        self.info.tags = dict(tags)

    async def get_tags(self) -> dict[str, str]:
        reply = await self._check().call(
            "SandboxGetTags", pb.SandboxGetTagsRequest(sandbox_id=self.sandbox_id), safe=True
        )
        return dict(reply.tags)

    def detach(self) -> None:
        """Let go of this handle; the sandbox keeps running on the server."""
        self._detached = True
