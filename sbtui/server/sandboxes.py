"""Apps, images and sandboxes: the server's model, kept in memory and written through to SQLite.

The engine is the truth about containers; this module keeps the two in step: it creates and
kills containers, follows their exits, enforces deadlines and re-adopts containers at start.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time

from sbtui.proto import sandbox_pb2 as pb
from sbtui.server import images, logs, validation
from sbtui.server.domains import CustomDomains
from sbtui.server.disk import DiskWatcher
from sbtui.server.engine_health import EngineHealth
from sbtui.server.errors import (
    already_exists, invalid, not_found, precondition, unsupported,
)
from sbtui.server.events import EventBus
from sbtui.server.ids import new_id
from sbtui.server.lifecycle import Scheduler
from sbtui.server.limits import Limits
from sbtui.server.runtime import naming, networks
from sbtui.server.runtime.naming import LABEL_APP, LABEL_NETWORK_OF, LABEL_SANDBOX, LABEL_SERVER
from sbtui.server.runtime.base import (
    ContainerSpec, EngineError, EngineNotFound, GpuUnavailable, Runtime,
)
from sbtui.server.scope import environment_of
from sbtui.server.sealing import Sealer
from sbtui.server.secrets import Secrets
from sbtui.server.volumes import Volumes
from sbtui.server.store import AppRecord, ImageRecord, SandboxRecord, Store

log = logging.getLogger("sbtui.server")

DEFAULT_COMMAND = ["sleep", "infinity"]
ACTIVITY_SAVED_EVERY = 1.0  # seconds between saves of the activity of open sessions
_ACTIVE = (pb.SANDBOX_STATE_CREATING, pb.SANDBOX_STATE_RUNNING, pb.SANDBOX_STATE_TERMINATING)
# How a stopping engine ends a container: SIGTERM, then SIGKILL once its grace period is over.
_STOPPED_BY_SIGNAL = {128 + signal.SIGTERM, 128 + signal.SIGKILL}


class SandboxManager:
    def __init__(
        self, store: Store, runtime: Runtime, server_id: str, limits: Limits | None = None
    ) -> None:
        self.store = store
        self.runtime = runtime
        self.server_id = server_id
        self.limits = limits or Limits()
        self.events = EventBus()
        self.engine_health = EngineHealth(runtime.name)
        # Set when the engine stopped answering, until a reconcile has caught up once it is back.
        self._engine_was_down = False
        self._engine_stops_containers = False  # read from the engine at start
        sealer = Sealer(store.path.with_name("secrets.key"))
        self.secrets = Secrets(store, sealer)
        self.kept_output = logs.KeptOutput(store, sealer)
        self.output_readers = logs.Readers()
        self.volumes = Volumes(store, runtime, server_id)
        self.custom_domains = CustomDomains()  # the operator's, set by the server at start
        self.apps: dict[str, AppRecord] = {}
        self.images: dict[str, ImageRecord] = {}
        self.sandboxes: dict[str, SandboxRecord] = {}
        self._by_container: dict[str, str] = {}
        self._names: dict[tuple[str, str], str] = {}  # (app_id, name) -> live sandbox id
        self._exited: dict[str, asyncio.Event] = {}
        self._finishing: dict[str, asyncio.Event] = {}  # set once the output is kept
        self.active_execs: dict[str, int] = {}
        self.active_tunnel_connections: dict[str, int] = {}
        self._scheduler = Scheduler(self._running_with_execs, self._expire)
        self._disk = DiskWatcher(
            runtime, self.limits.disk_bytes, lambda: (r for r, _ in self._running_with_execs()),
            self._over_disk_limit, self.events,
        )
        self._monitor: asyncio.Task | None = None
        self._activity: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()  # engine work under way; each ends by itself
        self.engine_cpus = 0  # read from the engine at start

    # ---- start and stop ---------------------------------------------------------

    async def start(self) -> None:
        self.engine_cpus = await self.runtime.cpus()
        self._engine_stops_containers = await self.runtime.containers_stop_with_engine()
        self.apps = {a.app_id: a for a in self.store.load_apps()}
        self.images = {i.image_id: i for i in self.store.load_images()}
        for record in self.store.load_sandboxes():
            self.sandboxes[record.sandbox_id] = record
            if not record.finished:
                self._exited[record.sandbox_id] = asyncio.Event()
                if record.name:
                    self._names[(record.app_id, record.name)] = record.sandbox_id
                if record.container_id:
                    self._by_container[record.container_id] = record.sandbox_id
        following = asyncio.Event()
        self._monitor = asyncio.create_task(self._follow_events(following.set), name="engine-events")
        # Subscribed before anything can exit unseen; what exited earlier, reconcile finds.
        await asyncio.wait_for(following.wait(), 30)
        await self._reconcile(startup=True)
        self._scheduler.start()
        self._disk.start()
        self._activity = asyncio.create_task(self._record_activity(), name="activity")

    async def stop(self, timeout: float = 0.0) -> None:
        """Stop beginning work, then finish what was begun: within `timeout` seconds, each
        terminating sandbox (an acknowledged terminate, a deadline passed) is killed, finished
        with its exit code and kept output, and its container removed. What is left then is
        logged; the records say what it was, so the next start carries it out."""
        await self._scheduler.stop()  # no deadline begins a termination from here on
        await self._disk.stop()
        if self._activity:
            self._activity.cancel()
        started = time.monotonic()
        owed = len(self._terminating())
        ending = await self._finish_begun(timeout)
        took = time.monotonic() - started
        if ending:
            log.warning(
                "stopping with %d of %d terminations unfinished after %.1f s (%s): the next "
                "start carries them out", len(ending), owed, took,
                ", ".join(r.sandbox_id for r in ending),
            )
        elif self._tasks:
            log.warning("stopping with %d engine calls unfinished after %.1f s: the next start "
                        "removes what they leave", len(self._tasks), took)
        elif owed:
            log.info("carried out %d terminations in %.1f s before stopping", owed, took)
        if self._monitor:  # followed until here: an exit event may be what finishes a kill
            self._monitor.cancel()
            try:
                await self._monitor
            except asyncio.CancelledError:
                pass
        for task in list(self._tasks):
            task.cancel()

    async def _finish_begun(self, timeout: float) -> list[SandboxRecord]:
        """Wait, for at most `timeout` seconds, until no sandbox is terminating and no engine
        work is under way; return the sandboxes still terminating."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            ending = self._terminating()
            left = deadline - loop.time()
            if (not ending and not self._tasks) or left <= 0:
                return ending
            # A kill's own look may find the container still running: then its exit event
            # ends the record, so wait for the ends as well as for the tasks.
            ends = [asyncio.ensure_future(self._exited[r.sandbox_id].wait()) for r in ending]
            try:
                await asyncio.wait({*self._tasks, *ends}, timeout=left)
            finally:
                for end in ends:
                    end.cancel()

    def _terminating(self) -> list[SandboxRecord]:
        return [r for r in self.sandboxes.values() if r.state == pb.SANDBOX_STATE_TERMINATING]

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background task failed: %s", task.exception())

    async def _reconcile(self, startup: bool = False) -> None:
        """Make the records agree with the engine: adopt, finish or clean each container."""
        containers = {
            c.container_id: c
            for c in await self.runtime.list_managed(f"{LABEL_SERVER}={self.server_id}")
        }
        holders, adopted = [], []
        owed = self._terminating() if startup else []
        if owed:
            log.info("carrying out %d terminations acknowledged before the last stop", len(owed))
        for cid, state in containers.items():
            if LABEL_NETWORK_OF in state.labels:
                holders.append(state)  # kept or removed once every sandbox's fate is known
                continue
            sandbox_id = state.labels.get(LABEL_SANDBOX, "")
            record = self.sandboxes.get(sandbox_id)
            if record is None:
                await self._remove_unowned(cid, state.labels)
                continue
            if record.finished:
                # Left when the engine could not give its output or remove it (it was stopping).
                await self._retire(record, cid)
                continue
            if record.state == pb.SANDBOX_STATE_CREATING and not startup:
                continue  # a create in flight in this process sees it through
            if not record.container_id:
                record.container_id = cid
                self._by_container[cid] = sandbox_id
            if state.running:
                adopted.append(cid)
                if record.state == pb.SANDBOX_STATE_CREATING:
                    self._set_running(record, state.started_at)
                elif record.state == pb.SANDBOX_STATE_TERMINATING:
                    self._spawn(self._kill(record))  # the kill may not have happened before a crash
            else:
                if record.state == pb.SANDBOX_STATE_CREATING and state.exit is None:
                    record.reason = pb.TERMINATION_REASON_FAILED_TO_START  # created, never started
                await self._finish(record, state)
        for record in list(self.sandboxes.values()):
            if not record.finished and record.container_id not in containers:
                if record.state == pb.SANDBOX_STATE_CREATING:
                    if not startup:
                        continue  # a create in flight in this process
                    # The previous server ended before the engine made its container.
                    self._mark_finished(record, None, pb.TERMINATION_REASON_FAILED_TO_START)
                    continue
                log.warning("sandbox %s lost its container", record.sandbox_id)
                self._mark_finished(record, None, pb.TERMINATION_REASON_LOST)
        for state in holders:
            if self._owner(state.labels) is None:
                await self._remove_unowned(state.container_id, state.labels)
        if startup:
            # Networks no container uses, as one a server killed between removing its last
            # container and removing it leaves; meanwhile deadlines are enforced and creates
            # served (the runtime keeps a network that a create is joining).
            self._spawn(self.runtime.remove_unused_networks(f"{LABEL_SERVER}={self.server_id}"))
        if startup and adopted:
            # Their exec streams died with the previous server process and none can be attached
            # again: left alone, their processes would run unseen until the sandbox ends.
            await self.runtime.kill_execs(adopted)

    async def _follow_events(self, first_connected) -> None:
        label = f"{LABEL_SERVER}={self.server_id}"
        connected = first_connected
        while True:
            try:
                async for kind, container_id, labels in self.runtime.events(label, connected):
                    if kind == "exit":
                        self._spawn(self._on_exit(container_id))
                    elif self._owner(labels) is None:
                        # The engine may carry out a create or start that a killed server asked
                        # for after the restarted one has reconciled: nobody owns what it made.
                        record = self.sandboxes.get(labels.get(LABEL_SANDBOX, ""))
                        if record is not None:
                            self._spawn(self._retire(record, container_id))
                        else:
                            self._spawn(self._remove_unowned(container_id, labels))
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.warning("engine event stream failed: %s", err)
                if not await self.runtime.answers():
                    self._engine_was_down = True
                    self.engine_health.down(str(err))
            await asyncio.sleep(1)
            # Subscribed again: catch up on whatever happened while the stream was down.
            connected = self._resubscribed

    def _owner(self, labels: dict[str, str]) -> SandboxRecord | None:
        """The live sandbox a container of this server belongs to: its own, or the one whose
        network namespace it holds."""
        record = self.sandboxes.get(labels.get(LABEL_SANDBOX) or labels.get(LABEL_NETWORK_OF, ""))
        if record is None or (record.finished and record.sandbox_id not in self._finishing):
            return None
        return record  # live, or finished with its output still being read from its container

    async def _remove_unowned(self, container_id: str, labels: dict[str, str]) -> None:
        log.info("removing container %s that no live sandbox owns", container_id[:12])
        if LABEL_NETWORK_OF in labels:
            # Podman refuses to remove a network namespace that a container still shares.
            await self.runtime.remove(naming.sandbox_container(labels[LABEL_NETWORK_OF]))
        await self.runtime.remove(container_id)

    def _resubscribed(self) -> None:
        # The engine answers: creates and execs may go on while the reconcile catches up.
        self.engine_health.answering()
        self._spawn(self._reconcile_logged())

    async def _reconcile_logged(self) -> None:
        began = time.monotonic()
        try:
            await self._reconcile()
        except EngineError as err:
            log.warning("engine not reachable: %s", err)
            return
        if self._engine_was_down:
            # Kept until here: the exits this reconcile found happened while it was away.
            self._engine_was_down = False
            log.info("the engine answers again; caught up with it in %.1f s", time.monotonic() - began)

    async def engine_service_restarted(self) -> None:
        """The engine's API service died and a new one answers. Every exec stream went through
        the dead one, and none can be attached again: the processes they started, which run on,
        are ended (as at a restart of this server), before the engine counts as ok and new
        execs are let in."""
        running = [r.container_id for r in self.sandboxes.values()
                   if r.state == pb.SANDBOX_STATE_RUNNING and r.container_id]
        if running:
            await self.runtime.kill_execs(running)

    # ---- apps and images ----------------------------------------------------------

    def app_from_name(self, name: str, environment: str, create: bool) -> AppRecord:
        validation.check_name("name", name)
        environment = environment_of(environment)
        for app in self.apps.values():
            if app.name == name and app.environment == environment:
                return app
        if not create:
            raise not_found(
                f"app {name!r} does not exist in environment {environment!r}; "
                "pass create_if_missing=True to create it"
            )
        app = AppRecord(new_id("ap"), name, environment, time.time())
        self.store.add_app(app)
        self.apps[app.app_id] = app
        return app

    # `scope` below is the environment the caller is confined to (None: every environment).
    # What lies outside it is answered exactly as what does not exist, so a scoped caller
    # can't even learn that it exists.

    def app(self, app_id: str, scope: str | None = None) -> AppRecord:
        app = self.apps.get(app_id)
        if app is None or (scope is not None and app.environment != scope):
            raise not_found(f"app {app_id!r} does not exist")
        return app

    async def image_from_registry(self, tag: str, scope: str | None = None) -> ImageRecord:
        images.check_reference(tag)
        images.check_snapshot_tag(self, tag, scope)
        try:
            found = await self.runtime.resolve_image(tag)
        except EngineError as err:
            raise images.pull_failure(tag, err) from None
        for image in self.images.values():
            if image.engine_id == found.engine_id:
                if not images.visible(self, image, scope):
                    # Another name for another environment's snapshot.
                    raise images.missing_tag(tag)
                return image
        image = ImageRecord(
            new_id("im"), found.engine_id, tag, found.created_at, found.size_bytes
        )
        self.add_image(image)
        return image

    def add_image(self, image: ImageRecord) -> None:
        self.store.add_image(image)
        self.images[image.image_id] = image

    async def image_from_id(self, image_id: str, scope: str | None = None) -> ImageRecord:
        image = self.images.get(image_id)
        if (
            image is None or not images.visible(self, image, scope)
            or await self.runtime.inspect_image(image.engine_id) is None
        ):
            raise not_found(f"image {image_id!r} does not exist on this server")
        return image

    # ---- sandboxes ----------------------------------------------------------------

    def get(self, sandbox_id: str, scope: str | None = None) -> SandboxRecord:
        record = self.sandboxes.get(sandbox_id)
        if record is None or (scope is not None and self.environment(record) != scope):
            raise not_found(f"sandbox {sandbox_id!r} does not exist")
        return record

    def environment(self, record: SandboxRecord) -> str:
        return self.apps[record.app_id].environment

    def info(self, record: SandboxRecord) -> pb.SandboxInfo:
        return record.to_pb(self.apps[record.app_id], self.images.get(record.image_id))

    def from_name(self, app_name: str, name: str, environment: str) -> SandboxRecord:
        validation.check_name("app_name", app_name)
        validation.check_name("name", name)
        environment = environment_of(environment)
        app = next(
            (a for a in self.apps.values() if a.name == app_name and a.environment == environment),
            None,
        )
        if app is None:
            raise not_found(f"app {app_name!r} does not exist in environment {environment!r}")
        sandbox_id = self._names.get((app.app_id, name))
        if sandbox_id is None:
            raise not_found(f"no running sandbox named {name!r} in app {app_name!r}")
        return self.sandboxes[sandbox_id]

    def matching(self, app_id: str, tags: dict[str, str], environment: str, finished: bool):
        environment = environment_of(environment)
        for record in self.sandboxes.values():
            if record.finished and not finished:
                continue
            if app_id and record.app_id != app_id:
                continue
            if self.apps[record.app_id].environment != environment:
                continue
            if any(record.tags.get(k) != v for k, v in tags.items()):
                continue
            yield record

    def unsupported_create_fields(self) -> dict[str, str]:
        """SandboxCreateParams fields this server can't honour, each with why: what create
        refuses and what GetCapabilities answers, from this one table."""
        fields = dict(validation.LOCAL_ENGINE_UNSUPPORTED)
        no_gpus = self.runtime.no_gpus()
        if no_gpus:
            fields["gpu"] = no_gpus
        return fields

    async def create(self, request: pb.SandboxCreateRequest, scope: str | None = None) -> SandboxRecord:
        params = request.params
        self.limits.check_create(params)  # first: the operator's maximum is the limit to state
        validation.check_create(params)
        validation.refuse_unsupported(params, self.unsupported_create_fields())
        self.engine_health.check()
        validation.check_cpu_available(params, self.engine_cpus)
        app = self.app(request.app_id, scope)
        if params.custom_domain:
            self.custom_domains.check(params.custom_domain, app.environment)
        # Unknown secrets and volumes are refused before anything is made or pulled.
        secret_env = self.secrets.environment_for(params.secret_ids, app.environment)
        validation.check_process_size(list(params.command) or DEFAULT_COMMAND, {**secret_env, **params.env})
        self.volumes.mounts_for(params.volumes, app.environment)
        try:
            gpus = self.runtime.gpus_for(params.gpu) if params.gpu else []
        except GpuUnavailable as err:
            raise unsupported("gpu", str(err)) from None
        which = request.WhichOneof("image")
        if which == "image_id":
            # No engine round trip here: if the image is gone, container create says so.
            image = self.images.get(request.image_id)
            if image is None or not images.visible(self, image, scope):
                raise not_found(
                    f"image {request.image_id!r} does not exist on this server", field="image"
                )
        elif which == "image_tag":
            image = await self.image_from_registry(request.image_tag, scope)
        else:
            raise invalid("image", "give an image id or a registry tag")
        if params.name and (app.app_id, params.name) in self._names:
            raise already_exists(
                f"a running sandbox named {params.name!r} already exists in app {app.name!r} "
                f"({self._names[(app.app_id, params.name)]}); choose another name or terminate it",
                field="name",
            )
        # Again after the awaits above, so a volume deleted meanwhile is not mounted.
        mounts = self.volumes.mounts_for(params.volumes, app.environment)
        now = time.time()
        record = SandboxRecord(
            sandbox_id=new_id("sb"), app_id=app.app_id, name=params.name,
            image_id=image.image_id, params=params, created_at=now, last_activity=now,
        )
        if params.name:
            self._names[(app.app_id, params.name)] = record.sandbox_id
        self.sandboxes[record.sandbox_id] = record
        self._exited[record.sandbox_id] = asyncio.Event()
        self.store.save_sandbox(record)
        self.events.publish(pb.SandboxEvent.CREATED, self.info(record))
        spec = ContainerSpec(
            name=naming.sandbox_container(record.sandbox_id),
            image=image.engine_id,
            command=list(params.command) or DEFAULT_COMMAND,
            env={**secret_env, **params.env},  # an explicit env variable wins over a secret's
            mounts=mounts,
            gpus=gpus,
            labels={
                LABEL_SERVER: self.server_id,
                LABEL_SANDBOX: record.sandbox_id,
                LABEL_APP: app.app_id,
            },
            workdir=params.workdir,
            tty=params.pty,
            cpu=params.cpu,
            cpu_limit=params.cpu_limit,
            memory_mib=params.memory_mib,
            memory_limit_mib=self.limits.memory_limit_mib(params),
            pids_limit=self.limits.pids,
            open_files=self.limits.open_files,
            log_bytes=self.limits.log_bytes,
            disk_bytes=self.limits.disk_bytes,
            network_disabled=params.block_network,
            egress_allowlist=list(params.cidr_allowlist) or None,
            network_holder_labels={LABEL_SERVER: self.server_id, LABEL_NETWORK_OF: record.sandbox_id},
            network=networks.for_environment(self.server_id, app.environment),
        )
        try:
            container_id = await self.runtime.create_and_start(spec)
        except BaseException as err:
            # Whatever went wrong (cancelled included), the record must not stay `creating`,
            # which nothing would ever end and terminate refuses.
            self._mark_finished(record, None, pb.TERMINATION_REASON_FAILED_TO_START)
            if not isinstance(err, EngineError):
                raise
            if isinstance(err, GpuUnavailable):
                raise unsupported("gpu", str(err)) from None
            if isinstance(err, EngineNotFound) and "image" in str(err).lower():
                raise not_found(f"image {image.image_id} ({image.tag}) is gone from the engine: {err}") from None
            raise precondition(f"the engine could not start the sandbox: {err}") from None
        record.container_id = container_id
        if record.state == pb.SANDBOX_STATE_CREATING:  # it may have exited already
            self._by_container[container_id] = record.sandbox_id
            self._set_running(record, time.time())
        if params.verbose:
            log.info("sandbox %s started in container %s", record.sandbox_id, container_id[:12])
        return record

    def _set_running(self, record: SandboxRecord, started_at: float) -> None:
        record.state = pb.SANDBOX_STATE_RUNNING
        record.started_at = started_at or time.time()
        timeout = record.params.timeout if record.params.HasField("timeout") else validation.DEFAULT_TIMEOUT
        record.deadline = record.created_at + timeout
        self.store.save_sandbox(record)
        self._scheduler.changed()
        self.events.publish(pb.SandboxEvent.STATE_CHANGED, self.info(record))

    def _running_with_execs(self):
        for record in self.sandboxes.values():
            if record.state == pb.SANDBOX_STATE_RUNNING:
                # An open tunnel connection holds off the idle timeout just as an exec does.
                yield record, (self.active_execs.get(record.sandbox_id, 0)
                               + self.active_tunnel_connections.get(record.sandbox_id, 0))

    def _expire(self, record: SandboxRecord, reason: int) -> None:
        log.info("sandbox %s reached its %s", record.sandbox_id,
                     "idle timeout" if reason == pb.TERMINATION_REASON_IDLE_TIMEOUT else "timeout")
        self._begin_termination(record, reason)

    def _over_disk_limit(self, record: SandboxRecord, used: int) -> None:
        log.info("sandbox %s wrote %d bytes (%.1f MiB) outside its volumes, past the disk limit "
                 "of %d MiB", record.sandbox_id, used, used / 2**20, self.limits.disk_bytes >> 20)
        self._begin_termination(record, pb.TERMINATION_REASON_DISK_LIMIT)

    def _begin_termination(self, record: SandboxRecord, reason: int) -> None:
        if record.state != pb.SANDBOX_STATE_RUNNING:
            return
        record.reason = reason  # saved with the state: a restart still knows why it ends
        record.state = pb.SANDBOX_STATE_TERMINATING
        self.store.save_sandbox(record)
        self.events.publish(pb.SandboxEvent.STATE_CHANGED, self.info(record))
        self._spawn(self._kill(record))

    async def _kill(self, record: SandboxRecord) -> None:
        try:
            await self.runtime.kill(record.container_id)
        except EngineError as err:
            log.warning("killing sandbox %s failed: %s", record.sandbox_id, err)
        # Normally the exit event finishes the record; if the container had already
        # stopped, no event will come, so look.
        await self._on_exit(record.container_id)

    async def terminate(self, sandbox_id: str, wait: bool) -> int | None:
        record = self.get(sandbox_id)
        if record.state == pb.SANDBOX_STATE_CREATING:
            raise precondition(f"sandbox {sandbox_id} is still starting; terminate it once it runs")
        self._begin_termination(record, pb.TERMINATION_REASON_TERMINATED)
        if not wait:
            return record.exit_code
        await self._exited[sandbox_id].wait()
        return record.exit_code

    async def wait(self, sandbox_id: str, timeout: float) -> bool:
        record = self.get(sandbox_id)
        if record.finished:
            return True
        try:
            await asyncio.wait_for(self._exited[sandbox_id].wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    def set_tags(self, sandbox_id: str, tags: dict[str, str]) -> SandboxRecord:
        validation.check_tags(tags)
        record = self.get(sandbox_id)
        record.tags = dict(tags)
        self.store.save_sandbox(record)
        self.events.publish(pb.SandboxEvent.TAGS_CHANGED, self.info(record))
        return record

    def touch(self, sandbox_id: str, save: bool = True) -> None:
        """Activity in the sandbox: moves its idle deadline.

        Saved at once, so that a restarted server counts idleness from it; `save=False` for
        activity inside an open session, which _record_activity saves every second anyway.
        """
        record = self.sandboxes.get(sandbox_id)
        if record is None:
            return
        record.last_activity = time.time()
        if save and not record.finished:
            self.store.save_sandbox(record)
        if record.params.HasField("idle_timeout"):
            self._scheduler.changed()

    async def _record_activity(self) -> None:
        """An open exec or tunnel connection is activity for as long as it lasts. The server
        writes that down every second: after a crash, which ends every session, idleness
        counts from the last moment the server saw one open, not from when it opened."""
        while True:
            await asyncio.sleep(ACTIVITY_SAVED_EVERY)
            now = time.time()
            for sandbox_id in {*self.active_execs, *self.active_tunnel_connections}:
                record = self.sandboxes.get(sandbox_id)
                if record is not None and not record.finished:
                    record.last_activity = now
                    self.store.save_sandbox(record)

    def exec_started(self, sandbox_id: str) -> None:
        self.active_execs[sandbox_id] = self.active_execs.get(sandbox_id, 0) + 1
        self.touch(sandbox_id)

    def exec_ended(self, sandbox_id: str) -> None:
        left = self.active_execs.get(sandbox_id, 1) - 1
        if left:
            self.active_execs[sandbox_id] = left
        else:
            self.active_execs.pop(sandbox_id, None)
        self.touch(sandbox_id)

    def tunnel_connection_opened(self, sandbox_id: str) -> None:
        counts = self.active_tunnel_connections
        counts[sandbox_id] = counts.get(sandbox_id, 0) + 1
        self.touch(sandbox_id)

    def tunnel_connection_closed(self, sandbox_id: str) -> None:
        counts = self.active_tunnel_connections
        left = counts.get(sandbox_id, 1) - 1
        if left > 0:
            counts[sandbox_id] = left
        else:
            counts.pop(sandbox_id, None)
        self.touch(sandbox_id)

    # ---- exits --------------------------------------------------------------------

    async def _on_exit(self, container_id: str) -> None:
        try:
            state = await self.runtime.inspect(container_id)
        except EngineError as err:
            # The engine is going away (a stopping dockerd sends exits, then stops answering):
            # the reconcile once it is back finishes the sandbox.
            log.info("could not look at container %s that exited: %s", container_id[:12], err)
            return
        sandbox_id = self._by_container.get(container_id) or (
            state.labels.get(LABEL_SANDBOX, "") if state else ""
        )
        record = self.sandboxes.get(sandbox_id)
        if record is None or record.finished:
            return
        # A command that ends at once exits before create_and_start returns its container:
        # its output is read from here.
        record.container_id = record.container_id or container_id
        if state is None:
            self._mark_finished(record, None, pb.TERMINATION_REASON_LOST)
        elif not state.running:
            await self._finish(record, state)

    async def _finish(self, record: SandboxRecord, state) -> None:
        # The exit event and the check after a kill can both get here: one finishes.
        if record.finished or record.sandbox_id in self._finishing:
            return
        kept = self._finishing[record.sandbox_id] = asyncio.Event()
        try:
            exit_ = state.exit
            reason = record.reason
            if not reason:
                if exit_ and exit_.oom_killed:
                    reason = pb.TERMINATION_REASON_OUT_OF_MEMORY
                elif await self._stopped_by_engine(exit_):
                    reason = pb.TERMINATION_REASON_ENGINE_STOPPED
                else:
                    reason = pb.TERMINATION_REASON_EXITED
            self._mark_finished(record, exit_.exit_code if exit_ else None, reason,
                                exit_.finished_at if exit_ else 0.0)
            # Kept once waiters have learnt of the end (the engine may take a while), before
            # the container goes; readers of the output wait for it (output_kept).
            await logs.keep(self.runtime, self.kept_output, record)
        finally:
            del self._finishing[record.sandbox_id]
            kept.set()
        await self._remove_finished(record, state.container_id)

    async def _stopped_by_engine(self, exit_) -> bool:
        """Whether the engine ended the container by stopping: it was killed the way a stopping
        engine kills, on an engine that stops its containers, which was stopping then (it
        takes no new connection, though it still serves those it has) or has come back since."""
        if not self._engine_stops_containers or exit_ is None or exit_.exit_code not in _STOPPED_BY_SIGNAL:
            return False
        return self._engine_was_down or not await self.runtime.answers()

    async def _retire(self, record: SandboxRecord, container_id: str) -> None:
        """The container of a finished sandbox, still in the engine: its output is kept if it
        was not (the engine was stopping when the sandbox ended), then it is removed. A
        container with a record is never removed before that."""
        if record.sandbox_id in self._finishing:
            return  # being finished now: that removes it
        if record.container_id == container_id and not self.store.has_logs(record.sandbox_id):
            kept = self._finishing[record.sandbox_id] = asyncio.Event()
            try:
                await logs.keep(self.runtime, self.kept_output, record)
            finally:
                del self._finishing[record.sandbox_id]
                kept.set()
        await self._remove_finished(record, container_id)

    async def _remove_finished(self, record: SandboxRecord, container_id: str) -> None:
        await self.output_readers.done(record.sandbox_id)
        if not await self.runtime.answers():
            # The engine is stopping: it takes no new connection but still serves those it has.
            # Its output may not have been kept, and what is removed now can leave the engine's
            # own state broken (see DockerRuntime._remove_network_if_unused): the container
            # stays, and the reconcile once the engine is back keeps the output, then removes it.
            log.info("sandbox %s ended as the engine stopped; its container stays until the "
                     "engine is back", record.sandbox_id)
            return
        try:
            await self.runtime.remove(container_id)
            if record.params.cidr_allowlist:
                await self.runtime.remove(naming.network_holder(record.sandbox_id))
        except EngineError as err:
            log.warning("removing container %s failed: %s", container_id[:12], err)

    async def output_kept(self, sandbox_id: str) -> None:
        """Return once a finished sandbox's output is in the store, where readers look."""
        kept = self._finishing.get(sandbox_id)
        if kept is not None:
            await kept.wait()

    def _mark_finished(
        self, record: SandboxRecord, exit_code: int | None, reason: int, at: float = 0.0
    ) -> None:
        if record.finished:
            return
        record.state = pb.SANDBOX_STATE_FINISHED
        record.exit_code = exit_code
        record.reason = reason
        record.finished_at = at or time.time()
        self.store.save_sandbox(record)
        self._by_container.pop(record.container_id, None)
        if record.name and self._names.get((record.app_id, record.name)) == record.sandbox_id:
            del self._names[(record.app_id, record.name)]
        self.active_execs.pop(record.sandbox_id, None)
        self._exited.setdefault(record.sandbox_id, asyncio.Event()).set()
        self._scheduler.changed()
        self.events.publish(pb.SandboxEvent.EXITED, self.info(record))
        if record.params.verbose:
            log.info("sandbox %s finished with exit code %s", record.sandbox_id, exit_code)

    def running_count(self) -> int:
        return sum(1 for r in self.sandboxes.values() if r.state in _ACTIVE)
