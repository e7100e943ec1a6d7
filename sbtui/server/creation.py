"""Creating a sandbox: the request checked (the operator's limits first, then the fields, what
this server can honour and the CPUs its engine has), its app, image, secrets, volumes and GPUs
found, its record made, and the container it asks for handed to the engine."""

from __future__ import annotations

import logging
import time

from sbtui.proto import sandbox_pb2 as pb
from sbtui.server import validation
from sbtui.server.catalog import Catalog
from sbtui.server.domains import CustomDomains
from sbtui.server.engine_health import EngineHealth
from sbtui.server.errors import already_exists, invalid, not_found, precondition, unsupported
from sbtui.server.ids import new_id
from sbtui.server.images import Images
from sbtui.server.limits import Limits
from sbtui.server.runtime import naming, networks
from sbtui.server.runtime.base import ContainerSpec, EngineError, EngineNotFound, GpuUnavailable, Runtime
from sbtui.server.secrets import Secrets
from sbtui.server.store import AppRecord, ImageRecord, SandboxRecord
from sbtui.server.transitions import Transitions
from sbtui.server.volumes import Volumes

log = logging.getLogger("sbtui.server")

DEFAULT_COMMAND = ["sleep", "infinity"]


class Creator:
    def __init__(
        self,
        catalog: Catalog,
        images: Images,
        transitions: Transitions,
        runtime: Runtime,
        server_id: str,
        limits: Limits,
        engine_health: EngineHealth,
        secrets: Secrets,
        volumes: Volumes,
        custom_domains: CustomDomains,
    ) -> None:
        self._catalog = catalog
        self._images = images
        self._transitions = transitions
        self._runtime = runtime
        self._server_id = server_id
        self._limits = limits
        self._engine_health = engine_health
        self._secrets = secrets
        self._volumes = volumes
        self._custom_domains = custom_domains
        self._engine_cpus = 0  # read from the engine at start

    async def start(self) -> None:
        self._engine_cpus = await self._runtime.cpus()

    def unsupported_fields(self) -> dict[str, str]:
        """SandboxCreateParams fields this server can't honour, each with why: what create
        refuses and what GetCapabilities answers, from this one table."""
        fields = dict(validation.UNSUPPORTED)
        if not self._runtime.places_by_labels:
            fields.update(validation.ONE_MACHINE_UNSUPPORTED)
        fields.update(self._runtime.unsupported_fields())
        return fields

    async def create(self, request: pb.SandboxCreateRequest, scope: str | None = None) -> SandboxRecord:
        params = request.params
        self._limits.check_create(params)  # first: the operator's maximum is the limit to state
        validation.check_create(params)
        validation.refuse_unsupported(params, self.unsupported_fields())
        self._engine_health.check()
        validation.check_cpu_available(params, self._engine_cpus)
        app = self._catalog.app(request.app_id, scope)
        if params.custom_domain:
            self._custom_domains.check(params.custom_domain, app.environment)
        # Unknown secrets and volumes are refused before anything is made or pulled.
        secret_env = self._secrets.environment_for(params.secret_ids, app.environment)
        validation.check_process_size(list(params.command) or DEFAULT_COMMAND, {**secret_env, **params.env})
        self._volumes.mounts_for(params.volumes, app.environment)
        try:
            gpus = self._runtime.gpus_for(params.gpu) if params.gpu else []
        except GpuUnavailable as err:
            raise unsupported("gpu", str(err)) from None
        image = await self._image(request, scope)
        taken = self._catalog.named(app.app_id, params.name) if params.name else None
        if taken:
            raise already_exists(
                f"a running sandbox named {params.name!r} already exists in app {app.name!r} "
                f"({taken}); choose another name or terminate it",
                field="name",
            )
        # Again after the awaits above, so a volume deleted meanwhile is not mounted.
        mounts = self._volumes.mounts_for(params.volumes, app.environment)
        volume_nodes = self._volumes.nodes_of(params.volumes, app.environment)
        now = time.time()
        record = SandboxRecord(
            sandbox_id=new_id("sb"),
            app_id=app.app_id,
            name=params.name,
            image_id=image.image_id,
            params=params,
            created_at=now,
            last_activity=now,
        )
        self._catalog.add_sandbox(record)
        self._transitions.created(record)
        self._catalog.publish(pb.SandboxEvent.CREATED, record)
        spec = self._spec(record, app, image, secret_env, mounts, volume_nodes, gpus)
        try:
            container_id = await self._runtime.create_and_start(spec)
        except BaseException as err:
            # Whatever went wrong (cancelled included), the record must not stay `creating`,
            # which nothing would ever end and terminate refuses.
            self._transitions.mark_finished(record, None, pb.TERMINATION_REASON_FAILED_TO_START)
            if not isinstance(err, EngineError):
                raise
            if isinstance(err, GpuUnavailable):
                raise unsupported("gpu", str(err)) from None
            if isinstance(err, EngineNotFound) and "image" in str(err).lower():
                raise not_found(
                    f"image {image.image_id} ({image.tag}) is gone from the engine: {err}"
                ) from None
            raise precondition(f"the engine could not start the sandbox: {err}") from None
        record.container_id = container_id
        try:
            # `or`: a command that ended at once may be finished already, its node kept then.
            record.node = await self._node_of(container_id) or record.node
        finally:
            # Cancelled or not, its container runs: the record must not stay `creating`.
            if record.state == pb.SANDBOX_STATE_CREATING:  # it may have exited already
                self._catalog.track_container(container_id, record.sandbox_id)
                self._transitions.running(record, time.time())
        if params.verbose:
            log.info("sandbox %s started in container %s", record.sandbox_id, container_id[:12])
        return record

    async def _node_of(self, container_id: str) -> str:
        """Where the engine placed the container, read before the sandbox shows as running so
        that its first running state says where; "" when the engine can't say now (the
        reconcile of the next start asks again)."""
        try:
            state = await self._runtime.inspect(container_id)
        except EngineError as err:
            log.warning("could not learn where container %s runs: %s", container_id[:12], err)
            return ""
        return state.node if state else ""

    async def _image(self, request: pb.SandboxCreateRequest, scope: str | None) -> ImageRecord:
        which = request.WhichOneof("image")
        if which == "image_id":
            # No engine round trip here: if the image is gone, container create says so.
            image = self._catalog.images.get(request.image_id)
            if image is None or not self._images.visible(image, scope):
                raise not_found(f"image {request.image_id!r} does not exist on this server", field="image")
            return image
        if which == "image_tag":
            return await self._images.from_registry(request.image_tag, scope)
        raise invalid("image", "give an image id or a registry tag")

    def _spec(
        self,
        record: SandboxRecord,
        app: AppRecord,
        image: ImageRecord,
        secret_env: dict[str, str],
        mounts: dict[str, str],
        volume_nodes: dict[str, str],
        gpus: list[str],
    ) -> ContainerSpec:
        params = record.params
        return ContainerSpec(
            name=naming.sandbox_container(record.sandbox_id),
            image=image.engine_id,
            command=list(params.command) or DEFAULT_COMMAND,
            env={**secret_env, **params.env},  # an explicit env variable wins over a secret's
            mounts=mounts,
            volume_nodes=volume_nodes,
            gpus=gpus,
            labels={
                naming.LABEL_SERVER: self._server_id,
                naming.LABEL_SANDBOX: record.sandbox_id,
                naming.LABEL_APP: app.app_id,
            },
            workdir=params.workdir,
            tty=params.pty,
            cpu=params.cpu,
            cpu_limit=params.cpu_limit,
            memory_mib=params.memory_mib,
            memory_limit_mib=self._limits.memory_limit_mib(params),
            pids_limit=self._limits.pids,
            open_files=self._limits.open_files,
            log_bytes=self._limits.log_bytes,
            disk_bytes=self._limits.disk_bytes,
            network_disabled=params.block_network,
            egress_allowlist=list(params.cidr_allowlist) or None,
            network_holder_labels={
                naming.LABEL_SERVER: self._server_id,
                naming.LABEL_NETWORK_OF: record.sandbox_id,
            },
            network=networks.for_environment(self._server_id, app.environment),
            regions=list(params.regions),
            cloud=params.cloud,
            image_ref=image.tag,
        )
