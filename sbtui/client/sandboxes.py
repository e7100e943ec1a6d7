"""Sandboxes: create, look up, list and watch."""

from __future__ import annotations

from typing import TYPE_CHECKING, AsyncIterator, Mapping, Sequence

from sbtui.client import wire
from sbtui.client.models import (
    INT64_MAX,
    App,
    CloudBucketMount,
    Duration,
    Image,
    Proxy,
    SandboxEvent,
    SandboxParams,
    Secret,
    Volume,
    seconds,
    whole,
)
from sbtui.client.sandbox import Sandbox, secret_names
from sbtui.proto import sandbox_pb2 as pb

if TYPE_CHECKING:
    from sbtui.client.connection import Connection


def _ports(name: str, ports) -> tuple[int, ...]:
    values = tuple(ports or ())
    for port in values:
        if isinstance(port, bool) or not isinstance(port, int):
            raise TypeError(f"{name} must be a list of port numbers, got {port!r}")
    return values


def _cores(value: float | None) -> float | None:
    return None if value is None else float(value)


def _mebibytes(value: int | None, name: str) -> int | None:
    return None if value is None else whole(value, name, -INT64_MAX - 1, INT64_MAX)


class Sandboxes:
    def __init__(self, connection: "Connection") -> None:
        self._connection = connection

    async def create(
        self,
        app: App,
        image: Image,
        *,
        cpu: float | None = None,
        cpu_limit: float | None = None,
        memory_mib: int | None = None,
        memory_limit_mib: int | None = None,
        gpu: str | None = None,
        timeout: Duration | None = None,
        idle_timeout: Duration | None = None,
        workdir: str | None = None,
        command: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        secrets: Sequence[Secret | str] | None = None,
        volumes: Mapping[str, Volume | str] | None = None,
        cloud_bucket_mounts: Mapping[str, CloudBucketMount] | None = None,
        pty: bool = False,
        encrypted_ports: Sequence[int] | None = None,
        h2_ports: Sequence[int] | None = None,
        unencrypted_ports: Sequence[int] | None = None,
        block_network: bool = False,
        cidr_allowlist: Sequence[str] | None = None,
        cloud: str | None = None,
        regions: Sequence[str] | None = None,
        verbose: bool = False,
        proxy: Proxy | str | None = None,
        name: str | None = None,
        custom_domain: str | None = None,
    ) -> Sandbox:
        """Create a sandbox in `app` from `image`; every create parameter is a keyword, named
        as in SandboxParams. To repeat another sandbox's: `**info.params.keywords()`."""
        if isinstance(command, str):
            raise TypeError("command must be a list of strings, e.g. ['python', 'app.py']")
        params = SandboxParams(
            cpu=_cores(cpu),
            cpu_limit=_cores(cpu_limit),
            memory_mib=_mebibytes(memory_mib, "memory_mib"),
            memory_limit_mib=_mebibytes(memory_limit_mib, "memory_limit_mib"),
            gpu=gpu or "",
            timeout=seconds(timeout, "timeout"),
            idle_timeout=seconds(idle_timeout, "idle_timeout"),
            workdir=workdir or "",
            command=tuple(command or ()),
            env=dict(env or {}),
            secrets=tuple(secret_names(secrets)),
            volumes={
                path: v.name if isinstance(v, Volume) else str(v) for path, v in (volumes or {}).items()
            },
            cloud_bucket_mounts=dict(cloud_bucket_mounts or {}),
            pty=pty,
            encrypted_ports=_ports("encrypted_ports", encrypted_ports),
            h2_ports=_ports("h2_ports", h2_ports),
            unencrypted_ports=_ports("unencrypted_ports", unencrypted_ports),
            block_network=block_network,
            cidr_allowlist=tuple(cidr_allowlist or ()),
            cloud=cloud or "",
            regions=tuple(regions or ()),
            verbose=verbose,
            proxy=proxy.proxy_id if isinstance(proxy, Proxy) else (proxy or ""),
            name=name or "",
            custom_domain=custom_domain or "",
        )
        request = pb.SandboxCreateRequest(app_id=app.app_id, params=wire.params_message(params))
        if image.image_id:
            request.image_id = image.image_id
        else:
            request.image_tag = image.tag
        reply = await self._connection.call("SandboxCreate", request)
        if not image.image_id:
            image.image_id = reply.image_id
        return Sandbox(self._connection, wire.sandbox_info(reply))

    async def from_id(self, sandbox_id: str) -> Sandbox:
        reply = await self._connection.call(
            "SandboxFromId", pb.SandboxFromIdRequest(sandbox_id=sandbox_id), safe=True
        )
        return Sandbox(self._connection, wire.sandbox_info(reply))

    async def from_name(self, app_name: str, name: str, *, environment: str | None = None) -> Sandbox:
        reply = await self._connection.call(
            "SandboxFromName",
            pb.SandboxFromNameRequest(app_name=app_name, name=name, environment=environment or ""),
            safe=True,
        )
        return Sandbox(self._connection, wire.sandbox_info(reply))

    async def list(
        self,
        *,
        app_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        environment: str | None = None,
        include_finished: bool = False,
        node: str | None = None,
    ) -> AsyncIterator[Sandbox]:
        """Sandboxes matching every filter given, newest first; `node`: those running (or
        that ran) on that node."""
        request = pb.SandboxListRequest(
            app_id=app_id or "",
            tags=dict(tags or {}),
            environment=environment or "",
            include_finished=include_finished,
            node=node or "",
        )
        async for info in self._connection.stream("SandboxList", request):
            yield Sandbox(self._connection, wire.sandbox_info(info))

    async def watch(
        self,
        *,
        app_id: str | None = None,
        environment: str | None = None,
        initial: bool = True,
        include_finished: bool = True,
    ) -> AsyncIterator[SandboxEvent]:
        """Follow sandbox events; with `initial`, first every current sandbox, then SYNCED."""
        request = pb.WatchRequest(
            app_id=app_id or "",
            environment=environment or "",
            initial=initial,
            include_finished=include_finished,
        )
        async for event in self._connection.stream("Watch", request):
            yield wire.sandbox_event(event)
