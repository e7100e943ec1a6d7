"""Sandboxes: create, look up, list and watch."""

from __future__ import annotations

from typing import TYPE_CHECKING, AsyncIterator, Mapping

from sbtui.client.images import Image
from sbtui.client.models import (
    INT64_MAX, App, CloudBucketMount, Duration, EventKind, Proxy, SandboxEvent, SandboxInfo,
    Secret, Volume, seconds, whole,
)
from sbtui.client.sandbox import Sandbox, secret_names
from sbtui.proto import sandbox_pb2 as pb

if TYPE_CHECKING:
    from sbtui.client.connection import Connection


def _ports(name: str, ports) -> list[int]:
    values = list(ports or ())
    for port in values:
        if isinstance(port, bool) or not isinstance(port, int):
            raise TypeError(f"{name} must be a list of port numbers, got {port!r}")
    return values


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
        command: list[str] | None = None,
        env: Mapping[str, str] | None = None,
        secrets: list[Secret | str] | None = None,
        volumes: Mapping[str, Volume | str] | None = None,
        cloud_bucket_mounts: Mapping[str, CloudBucketMount] | None = None,
        pty: bool = False,
        encrypted_ports: list[int] | None = None,
        h2_ports: list[int] | None = None,
        unencrypted_ports: list[int] | None = None,
        block_network: bool = False,
        cidr_allowlist: list[str] | None = None,
        cloud: str | None = None,
        regions: list[str] | None = None,
        verbose: bool = False,
        proxy: Proxy | str | None = None,
        name: str | None = None,
        custom_domain: str | None = None,
    ) -> Sandbox:
        """Create a sandbox in `app` from `image`; every SandboxCreateParams field is a keyword."""
        if isinstance(command, str):
            raise TypeError("command must be a list of strings, e.g. ['python', 'app.py']")
        params = pb.SandboxCreateParams(
            gpu=gpu or "", workdir=workdir or "", command=list(command or ()),
            env=dict(env or {}), secret_ids=secret_names(secrets),
            volumes={path: v.name if isinstance(v, Volume) else str(v) for path, v in (volumes or {}).items()},
            cloud_bucket_mounts={
                path: pb.CloudBucketMount(
                    bucket_name=m.bucket_name, bucket_endpoint_url=m.bucket_endpoint_url,
                    key_prefix=m.key_prefix, secret_id=m.secret, read_only=m.read_only,
                    requester_pays=m.requester_pays,
                )
                for path, m in (cloud_bucket_mounts or {}).items()
            },
            pty=pty, encrypted_ports=_ports("encrypted_ports", encrypted_ports),
            h2_ports=_ports("h2_ports", h2_ports),
            unencrypted_ports=_ports("unencrypted_ports", unencrypted_ports),
            block_network=block_network, cidr_allowlist=list(cidr_allowlist or ()),
            cloud=cloud or "", regions=list(regions or ()), verbose=verbose,
            proxy_id=proxy.proxy_id if isinstance(proxy, Proxy) else (proxy or ""),
            name=name or "", custom_domain=custom_domain or "",
        )
        for field, value in (("cpu", cpu), ("cpu_limit", cpu_limit)):
            if value is not None:
                setattr(params, field, float(value))
        for field, value in (("memory_mib", memory_mib), ("memory_limit_mib", memory_limit_mib)):
            if value is not None:
                setattr(params, field, whole(value, field, -INT64_MAX - 1, INT64_MAX))
        for field, value in (("timeout", timeout), ("idle_timeout", idle_timeout)):
            limit = seconds(value, field)
            if limit is not None:
                setattr(params, field, limit)
        request = pb.SandboxCreateRequest(app_id=app.app_id, params=params)
        if image.image_id:
            request.image_id = image.image_id
        else:
            request.image_tag = image.tag
        reply = await self._connection.call("SandboxCreate", request)
        if not image.image_id:
            image.image_id = reply.image_id
        return Sandbox(self._connection, SandboxInfo.from_pb(reply))

    async def from_id(self, sandbox_id: str) -> Sandbox:
        reply = await self._connection.call(
            "SandboxFromId", pb.SandboxFromIdRequest(sandbox_id=sandbox_id), safe=True
        )
        return Sandbox(self._connection, SandboxInfo.from_pb(reply))

    async def from_name(self, app_name: str, name: str, *, environment: str | None = None) -> Sandbox:
        reply = await self._connection.call(
            "SandboxFromName",
            pb.SandboxFromNameRequest(app_name=app_name, name=name, environment=environment or ""),
            safe=True,
        )
        return Sandbox(self._connection, SandboxInfo.from_pb(reply))

    async def list(
        self,
        *,
        app_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        environment: str | None = None,
        include_finished: bool = False,
    ) -> AsyncIterator[Sandbox]:
        """Sandboxes matching every filter given, newest first."""
        request = pb.SandboxListRequest(
            app_id=app_id or "", tags=dict(tags or {}), environment=environment or "",
            include_finished=include_finished,
        )
        async for info in self._connection.stream("SandboxList", request):
            yield Sandbox(self._connection, SandboxInfo.from_pb(info))

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
            app_id=app_id or "", environment=environment or "", initial=initial,
            include_finished=include_finished,
        )
        async for event in self._connection.stream("Watch", request):
            yield SandboxEvent(
                kind=EventKind(event.kind),
                sandbox=SandboxInfo.from_pb(event.sandbox) if event.HasField("sandbox") else None,
                time=event.time,
            )
