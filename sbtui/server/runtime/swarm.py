"""The Docker Swarm runtime: each sandbox is a one-replica service, never restarted, that
SwarmKit places on a node of the cluster (service_spec.py). Its "container id" in the server is
the service's id; the service's one task says which node holds it and which container there runs
it (swarm_tasks.py).

The manager's Engine API answers for the cluster: services, tasks, nodes. What must happen on the
node holding a task (exec, signals, the output, a tunnel's connection, a snapshot) goes through
that node's agent (`sbtui node`, node_client.py), over mutual TLS: the server reaches no engine
but the manager's.

The manager's engine is also where the server keeps its images, as on one engine: pulled,
imported and inspected there. Nodes pull registry images themselves; an image only the manager
has (the base image, an import, a snapshot) is pushed to the cluster registry (`--registry`)
before a service names it there.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import time
from typing import AsyncIterator, Callable

import aiodocker
from aiodocker.exceptions import DockerError

from sbtui.server.background import Background
from sbtui.server.runtime import container_config, launcher, naming, networks, service_spec, swarm_tasks
from sbtui.server.runtime.base import (
    ContainerExit,
    ContainerSpec,
    ContainerState,
    Dialer,
    EngineError,
    EngineNotFound,
    EngineUnavailable,
    ExecSpec,
    GpuUnavailable,
    ImageInfo,
    NetworkSpec,
    Unschedulable,
    WritablePaths,
)
from sbtui.server.runtime.docker import DockerRuntime
from sbtui.server.runtime.engine_api import API_VERSION, engine_error, missing, timestamp
from sbtui.server.runtime.node_agents import NodeAgents
from sbtui.server.runtime.node_client import NodeAgentClient, NodeExec
from sbtui.server.runtime.node_errors import NodeUnreachable
from sbtui.server.runtime.node_loss import NodeLoss
from sbtui.server.runtime.swarm_tasks import Node, Placement, Task
from sbtui.server.runtime.swarm_view import ClusterView, Snapshot

log = logging.getLogger("sbtui.server.runtime")

# How long a task may wait for a node before its create fails: SwarmKit retries placing it,
# and a node may free up, but a create must not stay pending.
UNSCHEDULABLE_FOR = 5.0
NETWORK_ATTEMPTS = 4  # creates of a service whose network the manager was removing
NETWORK_RELEASE = 30.0  # seconds a removed sandbox's node may take to let go of its network
# How long a create waits for a task's image pull and start.
START_TIMEOUT = 300.0
# How long a node's agent may take to count its volumes before it is passed over for a new one.
VOLUME_ASK_TIMEOUT = 5.0
# 128 + SIGKILL: with a memory limit and no kill of sbtui's, the kernel's OOM killer (SwarmKit
# does not report OOMKilled; sbtui's own kills carry their own reason).
_KILLED = 137
# Where the cluster registry keeps the images the server pushes for its nodes, tagged by image id.
PUSHED_REPO = "sbtui/images"


def _repository(reference: str) -> str:
    """The repository of an image reference, without its tag or digest ("" for none)."""
    name = reference.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return name.rsplit(":", 1)[0] if ":" in last else name


def _on_loopback(reference: str) -> bool:
    """Whether an image reference names a registry on the manager's loopback, which is every
    other node's own."""
    host = reference.split("/", 1)[0] if "/" in reference else ""
    return host.split(":", 1)[0] in ("localhost", "127.0.0.1", "[::1]") or host.startswith("127.")


class SwarmRuntime:
    name = "swarm"
    open_files_ceiling = None

    def __init__(self, url: str, registry: str, agents: NodeAgents, state_dir=None) -> None:
        self.url = url
        self.registry = registry  # HOST:PORT every node pulls from
        self._agents = agents
        self._manager = DockerRuntime(url, "docker", state_dir=state_dir)
        self._docker = aiodocker.Docker(url=url, api_version=API_VERSION)
        self._pushed: dict[str, str] = {}  # image id -> the registry reference pushed
        self._push_locks: dict[str, asyncio.Lock] = {}
        self._lost_services: set[str] = set()
        self._background = Background("swarm runtime task")
        self._loss = NodeLoss(agents, self._background)
        self._networks = networks.EnvironmentNetworks(self._docker, "swarm", self.answers)
        self._view = ClusterView(self._docker)

    # ---- the cluster ----------------------------------------------------------------

    async def version(self) -> str:
        return await self._manager.version()

    async def answers(self) -> bool:
        return await self._manager.answers()

    async def list_networks(self) -> None:
        await self._manager.list_networks()

    async def containers_stop_with_engine(self) -> bool:
        return False  # the manager's engine stopping stops only its own node's tasks

    async def check_manager(self) -> None:
        """Refuse an engine that is not a swarm manager, saying what it is."""
        try:
            info = await self._docker.system.info()
        except DockerError as err:
            raise engine_error(err, "engine info") from None
        swarm = info.get("Swarm") or {}
        if not swarm.get("ControlAvailable"):
            state = swarm.get("LocalNodeState") or "inactive"
            raise EngineUnavailable(
                f"the engine at {self.url} is not a swarm manager (its swarm state: {state}): give a "
                "manager's Engine API with --engine-url, or make this one a manager (docker swarm init)"
            )

    async def nodes(self) -> list[Node]:
        try:
            found = await self._docker._query_json("nodes")
        except DockerError as err:
            raise engine_error(err, "listing the swarm's nodes") from None
        return [swarm_tasks.node(n) for n in found]

    async def node_names(self) -> dict[str, str]:
        names = {n.node_id: n.name for n in await self.nodes()}
        names[""] = await self._manager.node()  # a volume made before the server ran on the swarm
        return names

    async def cpus(self) -> int:
        """The CPUs of the largest node: no sandbox can have more."""
        return max((int(n.cpus) for n in await self.nodes()), default=1) or 1

    writes_elsewhere = True  # on a node's disk, measured by its agent (disk_used)
    places_by_labels = True  # regions and cloud choose among the nodes' labels

    def no_gpus(self) -> str:
        return (
            "GPUs are not placed on swarm nodes by this server; create the sandbox without gpu, "
            "or use a server on one engine on a host with NVIDIA GPUs"
        )

    def unsupported_fields(self) -> dict[str, str]:
        return {"gpu": self.no_gpus()}

    def gpus_for(self, spec: str) -> list[str]:
        raise GpuUnavailable(self.no_gpus())

    # ---- images: kept on the manager's engine, pushed for the nodes ------------------

    async def inspect_image(self, ref: str) -> ImageInfo | None:
        return await self._manager.inspect_image(ref)

    async def resolve_image(self, ref: str) -> ImageInfo:
        return await self._manager.resolve_image(ref)

    def pull(self, ref: str) -> AsyncIterator[dict]:
        return self._manager.pull(ref)

    async def import_image(self, tar: bytes, repo: str, tag: str, labels: dict[str, str]) -> None:
        await self._manager.import_image(tar, repo, tag, labels)

    async def _placed(self, image_id: str, pulled_by: str) -> tuple[str, list[str]]:
        """The reference nodes pull image `image_id` by: a digest in the registry it was pulled
        from (`pulled_by`), or the cluster registry's copy, pushed once (an image only the
        manager has, or one from a registry on its loopback, which is each node's own); and
        the image's entrypoint."""
        try:
            data = await self._docker.images.inspect(image_id)
        except DockerError as err:
            if missing(err):
                raise EngineNotFound(f"image {image_id[:19]} is not on the manager's engine") from None
            raise engine_error(err, f"image {image_id[:19]}") from None
        entrypoint = list((data.get("Config") or {}).get("Entrypoint") or [])
        repository = _repository(pulled_by)
        if repository and not _on_loopback(repository):
            for digest in data.get("RepoDigests") or []:
                if digest.split("@", 1)[0] == repository:
                    return digest, entrypoint
        lock = self._push_locks.setdefault(image_id, asyncio.Lock())
        async with lock:
            if image_id not in self._pushed:
                self._pushed[image_id] = await self._push(image_id)
        return self._pushed[image_id], entrypoint

    async def _push(self, image_id: str) -> str:
        """Push the image to the cluster registry; its reference there, by digest: what a
        sandbox runs can't change under it, and a node that has the image starts a task of it
        without asking the registry (by a tag, it asks again at every start)."""
        repo, tag = f"{self.registry}/{PUSHED_REPO}", image_id.removeprefix("sha256:")[:32]
        digest = ""
        try:
            await self._docker.images.tag(image_id, repo, tag=tag)
            async for event in self._docker.images.push(repo, tag=tag, stream=True):
                if event.get("error"):
                    raise EngineError(
                        f"pushing image {image_id[:19]} to the cluster registry: {event['error']}"
                    )
                digest = (event.get("aux") or {}).get("Digest") or digest
        except DockerError as err:
            raise engine_error(err, f"pushing image {image_id[:19]} to the cluster registry") from None
        return f"{repo}@{digest}" if digest else f"{repo}:{tag}"

    async def commit(
        self, container_id: str, repo: str, tag: str, labels: dict[str, str], env: list[str] | None = None
    ) -> str:
        """Committed on the node holding the task and pushed to the cluster registry, then pulled
        onto the manager's engine and tagged `repo:tag` there, like every image the server has."""
        task, agent = await self._on_node(container_id, "snapshot")
        name = repo.split("/", 1)[1] if repo.startswith("localhost/") else repo
        pushed = f"{self.registry}/{name}"
        await agent.commit(task.container_id, pushed, tag, labels, env)
        async for _ in self._manager.pull(f"{pushed}:{tag}"):
            pass
        try:
            await self._docker.images.tag(f"{pushed}:{tag}", repo, tag=tag)
        except DockerError as err:
            raise engine_error(err, f"tagging the snapshot {repo}:{tag}") from None
        found = await self._manager.inspect_image(f"{repo}:{tag}")
        if found is None:
            raise EngineNotFound(f"the snapshot {repo}:{tag} is missing after it was pulled")
        return found.engine_id

    # ---- services --------------------------------------------------------------------

    async def create_and_start(self, spec: ContainerSpec) -> str:
        nodes = await self.nodes()
        placement = Placement(
            regions=list(spec.regions),
            cloud=spec.cloud,
            cpus=spec.cpu,
            memory_bytes=spec.memory_mib * 2**20,
            volumes=spec.volume_nodes,
        )
        unmet = placement.unmet(nodes)
        if unmet:
            raise Unschedulable(f"no node can take the sandbox: {unmet}")
        image, entrypoint = await self._placed(spec.image, spec.image_ref)
        # No network at all is no choice for a service: a sandbox without one gets a network
        # of its own that leads nowhere.
        network = spec.network
        if spec.network_disabled:
            network = networks.isolated(spec.labels[naming.LABEL_SANDBOX], spec.labels)
        body = service_spec.service_spec(
            spec, image, placement.constraints(nodes), network.name if network else "", [], entrypoint
        )
        service_id = await self._create_service(body, network)
        try:
            task = await self._started(service_id)
            if task.running and (spec.cpu or spec.memory_mib):
                # What a local engine gives at create, swarm only places by.
                _, agent = await self._on_node(service_id, "its requests")
                shares = container_config.cpu_shares(spec.cpu) if spec.cpu else 0
                await agent.set_requests(task.container_id, shares, spec.memory_mib * 2**20)
            # Ended already (its command not found) or running: the gate says which.
            await self._open_gate(service_id, task, spec)
        except BaseException:
            await self.remove(service_id)
            raise
        return service_id

    async def finish_start(self, container_id: str, egress_allowlist: list[str] | None) -> None:
        task, agent = await self._on_node(container_id, "its start")
        await agent.open_gate(task.container_id, egress_allowlist)

    async def _open_gate(self, service_id: str, task: Task, spec: ContainerSpec) -> None:
        """Have the node start the sandbox's command, its allowlist set first (launcher.py)."""
        _, agent = await self._on_node(service_id, "its start")
        try:
            await agent.open_gate(task.container_id, spec.egress_allowlist)
        except EngineError:
            # The gate ends at once, saying why, when the command is not in the image.
            said = b"".join(data for _, data in await agent.last_output(task.container_id, spec.tty, 4096))
            reason = said.decode(errors="replace").strip()
            if not reason:
                raise
            raise EngineError(f"the sandbox's command could not start: {reason}") from None

    async def _create_service(self, body: dict, network: NetworkSpec | None) -> str:
        """Create the service on its network, made if missing. The manager removes a network
        in the background: one that was going as it was made again answers "exists" and is then
        gone, and the create finds no network; it is made again, a few times."""
        attempt = 0
        while True:
            attempt += 1
            async with self._networks.joining(network):
                try:
                    created = await self._docker._query_json(
                        "services/create", method="POST", data=json.dumps(body), params={}
                    )
                    return created["ID"]
                except DockerError as err:
                    gone = network is not None and self._networks.gone(network.name, str(err.message))
                    if not gone or attempt == NETWORK_ATTEMPTS:
                        raise engine_error(err, "creating the sandbox's service") from None
            await asyncio.sleep(0.1 * attempt)

    async def _started(self, service_id: str) -> Task:
        """Wait until the service's task runs (or has already ended); fail when no node can
        take it for UNSCHEDULABLE_FOR seconds, or when it fails before it runs."""
        with self._view.hurried():
            return await self._wait_started(service_id)

    async def _wait_started(self, service_id: str) -> Task:
        deadline = time.monotonic() + START_TIMEOUT
        unschedulable_since: float | None = None
        seen = 0
        while True:
            snapshot = await self._view.after(seen)
            seen = snapshot.number
            task = snapshot.tasks.get(service_id)
            if task is not None:
                if task.running or (task.ended and task.container_id and not task.never_started):
                    return task
                # A task is not placed again when its node is lost before it starts (restart
                # condition none), nor told it failed: it would wait here for START_TIMEOUT.
                where = snapshot.nodes.get(task.node_id) if task.node_id else None
                if task.node_id and self._loss.lost(task.node_id, where):
                    raise EngineError(
                        f"node {where.name if where else task.node_id[:12]} was lost before the "
                        f"sandbox started ({where.state if where else 'gone from the swarm'}); "
                        "create it again"
                    )
                if task.ended:
                    raise EngineError(f"the swarm could not start the sandbox: {task.message or task.state}")
                if task.state == "pending" and "no suitable node" in task.message:
                    unschedulable_since = unschedulable_since or time.monotonic()
                    if time.monotonic() - unschedulable_since > UNSCHEDULABLE_FOR:
                        raise Unschedulable(f"no node can take the sandbox: {task.message}")
                else:
                    unschedulable_since = None
            if time.monotonic() > deadline:
                raise EngineError(f"the sandbox's task did not start within {START_TIMEOUT:g} s")

    async def _service(self, service_id: str) -> dict | None:
        try:
            return await self._docker._query_json(f"services/{service_id}")
        except DockerError as err:
            if missing(err):
                return None
            raise engine_error(err, f"inspecting service {service_id[:12]}") from None

    def _state(
        self, service_id: str, labels: dict[str, str], task: Task | None, nodes: dict[str, Node]
    ) -> ContainerState:
        where = nodes.get(task.node_id) if task else None
        state = ContainerState(
            service_id, labels, running=False, started_at=0.0, node=where.name if where else ""
        )
        if task is None:
            return state
        if service_id in self._lost_services or (task.running and self._loss.lost(task.node_id, where)):
            # Given up for good: the node coming back must not bring it back.
            self._lost_services.add(service_id)
            lost_at = task.changed_at if task.ended else time.time()
            state.exit = ContainerExit(_KILLED, oom_killed=False, finished_at=lost_at, node_lost=True)
        elif task.running:
            state.running = True
            state.started_at = task.changed_at
        elif task.ended:
            code = task.exit_code if task.exit_code is not None else _KILLED
            state.exit = ContainerExit(
                exit_code=code,
                oom_killed=False,
                finished_at=task.changed_at,
                memory_limited=task.memory_limited,
            )
        return state

    async def inspect(self, container_id: str) -> ContainerState | None:
        service = await self._service(container_id)
        if service is None:
            return None
        snapshot = await self._view.after(0)
        labels = (service.get("Spec") or {}).get("Labels") or {}
        state = self._state(container_id, labels, snapshot.tasks.get(container_id), snapshot.nodes)
        await self._mark_engine_restarts([(state, service)], snapshot)
        return state

    async def list_managed(self, label: str) -> list[ContainerState]:
        try:
            services = await self._docker._query_json(
                "services", params={"filters": json.dumps({"label": [label]})}
            )
        except DockerError as err:
            raise engine_error(err, "listing services") from None
        snapshot = await self._view.after(0)
        states = [
            self._state(
                s["ID"],
                (s.get("Spec") or {}).get("Labels") or {},
                snapshot.tasks.get(s["ID"]),
                snapshot.nodes,
            )
            for s in services
        ]
        await self._mark_engine_restarts(list(zip(states, services)), snapshot)
        return states

    async def _mark_engine_restarts(
        self, states: list[tuple[ContainerState, dict]], snapshot: Snapshot
    ) -> None:
        """Mark the exits that the start of their node's engine caused: a node's engine that
        starts again ends every container it had (swarm mode has no live restore), with the
        SIGKILL an OOM kill also ends with. Said by the node's agent: when its engine's process
        started, after the sandbox's service was made and by the time the task ended."""
        started: dict[str, float] = {}  # node id -> that time, asked once per node
        for state, service in states:
            exit_ = state.exit
            task = snapshot.tasks.get(state.container_id)
            if exit_ is None or exit_.exit_code != _KILLED or exit_.node_lost or task is None:
                continue
            where = snapshot.nodes.get(task.node_id)
            if where is None or where.state in swarm_tasks.NODE_GONE:
                continue
            if where.node_id not in started:
                try:
                    started[where.node_id] = (await (await self._agents.of(where)).info()).engine_started_at
                except EngineError as err:
                    log.info("when the engine of node %s started: %s", where.name, err)
                    started[where.node_id] = 0.0
            engine_start = started[where.node_id]
            made = timestamp(service.get("CreatedAt"))
            if engine_start and made < engine_start <= exit_.finished_at:
                exit_.engine_restarted = True

    async def events(
        self, label: str, connected: Callable[[], None] | None = None
    ) -> AsyncIterator[tuple[str, str, dict[str, str]]]:
        """Each service's task starting ("new") and ending ("exit"), said once, as the
        cluster's snapshots show them (swarm_view.py)."""
        said: dict[str, str] = {}  # service id -> "new" or "exit", as last said
        snapshot = await self._view.after(0)
        for service_id, task in snapshot.tasks.items():
            state = self._state(service_id, task.labels, task, snapshot.nodes)
            said[service_id] = "exit" if state.exit is not None else "new"
        if connected is not None:
            connected()  # from here on no change is missed: each snapshot is compared
        while True:
            snapshot = await self._view.after(snapshot.number)
            for service_id, task in snapshot.tasks.items():
                if not swarm_tasks.labelled(task.labels, label):
                    continue
                state = self._state(service_id, task.labels, task, snapshot.nodes)
                now = "exit" if state.exit is not None else ("new" if state.running else "")
                if now and said.get(service_id) != now:
                    said[service_id] = now
                    yield now, service_id, task.labels

    async def kill(self, container_id: str) -> None:
        """SIGKILL the container through its node's agent, at once; the container stays, with
        its exit and output, until the service is removed. A node that can't be reached is
        told through the manager instead: the service scaled to no replica, its node kills the
        task's container (StopSignal SIGKILL) once it hears of it."""
        try:
            task, agent = await self._on_node(container_id, "a kill")
            await agent.kill(task.container_id)
            return
        except EngineError as err:  # no container yet (still placed), or its node lost
            log.info("killing service %s through the manager: %s", container_id[:12], err)
        service = await self._service(container_id)
        if service is None:
            return
        version = (service.get("Version") or {}).get("Index")
        try:
            await self._docker._query_json(
                f"services/{container_id}/update",
                method="POST",
                params={"version": str(version)},
                data=json.dumps(service_spec.stopped(service)),
            )
        except DockerError as err:
            if missing(err):
                return
            raise engine_error(err, f"stopping service {container_id[:12]}") from None

    async def remove(self, container_id: str) -> None:
        """Remove the service, and block_network's network of its own. An environment's
        network stays while the server runs: made again, it would cost the next sandbox's node
        a third of a second setting the overlay up; the next start removes those unused."""
        self._lost_services.discard(container_id)
        service = await self._service(container_id) or {}
        sandbox_id = ((service.get("Spec") or {}).get("Labels") or {}).get(naming.LABEL_SANDBOX, "")
        try:
            async with self._docker._query(f"services/{container_id}", method="DELETE"):
                pass
        except DockerError as err:
            if missing(err):
                return
            raise engine_error(err, f"removing service {container_id[:12]}") from None
        if sandbox_id:
            self._background.spawn(self._drop_network(networks.isolated(sandbox_id, {}).name))

    async def _drop_network(self, name: str) -> None:
        """Delete a sandbox's own network once its node has let go of the task's endpoint
        (the manager refuses until then); the next start removes one still there."""
        deadline = time.monotonic() + NETWORK_RELEASE
        while True:
            try:
                async with self._docker._query(f"networks/{name}", method="DELETE"):
                    return
            except DockerError as err:
                if missing(err) or time.monotonic() > deadline:
                    return
            await asyncio.sleep(0.5)

    # ---- on the node holding the task -------------------------------------------------

    async def _on_node(self, service_id: str, what: str) -> tuple[Task, NodeAgentClient]:
        """The service's task, which has a container, and the agent of the node holding it
        (as last read: the manager is not needed to reach the node)."""
        snapshot = await self._view.readable()
        task = snapshot.tasks.get(service_id)
        if task is None or not task.container_id:
            raise EngineNotFound(f"service {service_id[:12]} has no container for {what}")
        where = snapshot.nodes.get(task.node_id)
        if where is None:
            raise EngineError(f"the node of service {service_id[:12]} has left the swarm")
        if not await self._loss.reachable(where):
            raise NodeUnreachable(
                f"node {where.name or where.node_id[:12]} is {where.state} to the manager and its agent does "
                f"not answer: {what} can't reach it"
            )
        return task, await self._agents.of(where)

    async def exec(self, container_id: str, spec: ExecSpec) -> NodeExec:
        task, agent = await self._on_node(container_id, "exec")
        # With no new privileges, as the sandbox's command (launcher.py).
        launched = dataclasses.replace(spec, command=launcher.launched(spec.command))
        return await agent.exec(task.container_id, launched)

    async def kill_execs(self, container_ids: list[str]) -> None:
        """On each node holding one of them, through its agent; a node that can't be reached
        is said in the log (its commands end with its sandboxes, once it is given up)."""
        for container_id in container_ids:
            try:
                task, agent = await self._on_node(container_id, "ending its commands")
                await agent.kill_execs([task.container_id])
            except EngineError as err:
                log.warning("commands of service %s: %s", container_id[:12], err)

    async def logs(
        self, container_id: str, follow: bool, tty: bool, tail: int = 0
    ) -> AsyncIterator[tuple[int, bytes]]:
        task, agent = await self._on_node(container_id, "its output")
        async for frame in agent.logs(task.container_id, follow, tty, tail):
            yield frame

    async def last_output(self, container_id: str, tty: bool, size: int) -> list[tuple[int, bytes]]:
        task, agent = await self._on_node(container_id, "its output")
        return await agent.last_output(task.container_id, tty, size)

    async def dialer(self, container_id: str) -> Dialer | None:
        """Connections made by the agent of the node holding the task, to the container."""
        try:
            task, agent = await self._on_node(container_id, "a tunnel")
        except EngineNotFound:
            return None
        return functools.partial(agent.dial, task.container_id)

    async def writable_paths(self, container_id: str) -> WritablePaths | None:
        return None  # on another machine's disk: measured there (disk_used)

    async def disk_used(self, container_id: str) -> int | None:
        """Measured by the agent of the node holding the task, on its disk."""
        try:
            task, agent = await self._on_node(container_id, "its disk use")
        except EngineNotFound:
            return None
        return await agent.disk_use(task.container_id)

    # ---- volumes and networks ----------------------------------------------------------

    # A volume uses the local driver: its data is on one node, chosen at create, and every
    # sandbox mounting it is placed there (Placement.volumes). The server keeps the node's id
    # with the volume's record (volumes.py): the id SwarmKit gives a node is its own for as
    # long as it is in the swarm, and the record still says where the data is when that node
    # is down, which asking the agents could not.

    async def create_volume(self, name: str, labels: dict[str, str]) -> str:
        """Made on the ready node holding the fewest of this server's volumes (ties by name),
        through its agent; returns that node's id."""
        ready = sorted((n for n in await self.nodes() if n.ready), key=lambda n: n.name)
        if not ready:
            raise Unschedulable("no node of the cluster is ready to hold a volume")
        server = labels.get(naming.LABEL_SERVER, "")
        label = f"{naming.LABEL_SERVER}={server}" if server else naming.LABEL_VOLUME
        counts = await asyncio.gather(*(self._volume_count(n, label) for n in ready))
        held = [(count, n.name, n) for count, n in zip(counts, ready) if count is not None]
        if not held:
            raise Unschedulable(
                "no ready node's agent answers to hold a volume: "
                f"start `sbtui node` on {', '.join(n.name for n in ready)}"
            )
        home = min(held, key=lambda c: c[:2])[2]
        await (await self._agents.of(home)).create_volume(name, labels)
        log.info("volume %s made on node %s", name, home.name)
        return home.node_id

    async def _volume_count(self, where: Node, label: str) -> int | None:
        """How many volumes carrying `label` the node holds; None when its agent can't say
        (the node is then passed over: no sandbox of a volume there could be reached)."""
        try:
            agent = await self._agents.of(where)
            return len(await asyncio.wait_for(agent.volumes(label), VOLUME_ASK_TIMEOUT))
        except (EngineError, asyncio.TimeoutError) as err:
            log.warning("node %s passed over for a volume: %s", where.name, err or "its agent did not answer")
            return None

    async def remove_volume(self, name: str, node: str = "") -> None:
        """Removed by the agent of the node holding it. A node gone from the swarm took the
        volume with it: nothing is left to remove here (what stays on that machine is its own).
        A node down whose agent does not answer either is refused, saying so (node_loss.py)."""
        if not node:  # made by this server on one engine, before it ran on the swarm
            await self._manager.remove_volume(name)
            return
        where = {n.node_id: n for n in await self.nodes()}.get(node)
        if where is None:
            log.warning("volume %s was on node %s, which has left the swarm: given up", name, node[:12])
            return
        if not await self._loss.reachable(where):
            raise NodeUnreachable(
                f"its node {where.name} is {where.state} and its agent does not answer: the data can be "
                "removed once the node is back, or given up by removing the node from the swarm "
                f"(docker node rm {where.name})"
            )
        await (await self._agents.of(where)).remove_volume(name)

    async def remove_unused_networks(self, label: str) -> None:
        await self._networks.remove_unused(label)

    async def close(self) -> None:
        self._background.cancel()
        await self._view.close()
        await self._agents.close()
        await self._docker.close()
        await self._manager.close()
