"""The Docker Engine API runtime (aiodocker), serving Docker and Podman alike.

What is not one engine's is shared with any other runtime: the Engine API's conventions
(engine_api.py), the container config a ContainerSpec becomes (container_config.py), execs
(engine_exec.py), names and labels (naming.py), processes seen from this host
(host_processes.py), GPUs (gpu.py), the seccomp profile (seccomp.py) and the tail of a log
(log_tail.py).

Where the two engines differ, the difference is handled here, or in the module named:
- Podman reports a container's exit as the event `died`, Docker as `die`;
- Podman applies its own default rlimits, which runc cannot set without CAP_SYS_RESOURCE,
  so containers get explicit ulimits no higher than the engine's own;
- execs differ in their console size and in how a program that can't start fails
  (engine_exec.py);
- Podman's default seccomp profile lets a sandbox create user namespaces and use the kernel's
  keyrings, and Docker's does not: on Podman a sandbox gets Podman's default profile with
  Docker's rules added (seccomp.py),
  given as a file in the state directory, since Podman's compat API takes a profile's path
  where Docker takes its content;
- Docker keeps every bridge network apart from the others, Podman only those made with its
  `isolate` option, which its compat API sets unasked (and, asked, warns it does not know):
  environment networks (networks.py) are made through Podman's own API there, which names it;
- Docker attaches NVIDIA GPUs through a device request; Podman's compat API ignores device
  requests and mangles CDI device names, so there a sandbox asking for a GPU is refused (gpu.py);
- the log of a sandbox's output is bounded by json-file's max-size and max-file on Docker, and
  on Podman by k8s-file's max-size (conmon's --log-size-max), which empties the file when full
  (Podman's compat inspect reports json-file whatever the driver; container_config.py).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import aiodocker
import aiohttp
from aiodocker.exceptions import DockerError

from sbtui.server import disk
from sbtui.server.runtime import (
    container_config,
    egress,
    engine_exec,
    gpu,
    host_processes,
    image_archive,
    launcher,
    log_tail,
    naming,
    networks,
    seccomp,
)
from sbtui.server.runtime.base import (
    BadImageReference,
    ContainerExit,
    ContainerSpec,
    ContainerState,
    Dialer,
    EngineError,
    EngineInUse,
    EngineNotFound,
    ExecSpec,
    ImageInfo,
    WritablePaths,
)
from sbtui.server.runtime.engine_api import (
    API_VERSION,
    address,
    engine_error,
    missing,
    pull_error,
    push_error,
    take_frames,
    timestamp,
)
from sbtui.server.runtime.hijack import answers

log = logging.getLogger("sbtui.server.runtime")

_EXIT_ACTIONS = {"die", "died"}
STREAM_BUFFER = 256 * 1024  # what a dialled connection's reader holds before its peer waits
_NEW_ACTIONS = {"create", "start"}
# How long a killed container's network may hold the next change of that network (see
# networks.MembershipChanges); a kill ends in well under a second.
LEAVE_WAIT = 10.0


async def _connect(address: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(address, port, limit=STREAM_BUFFER)


def _gpu_error(err: DockerError, spec: ContainerSpec) -> EngineError | None:
    """Docker without the NVIDIA Container Toolkit can't serve the device request."""
    return gpu.driver_missing(str(err.message)) if spec.gpus else None


class DockerRuntime:
    def __init__(
        self,
        url: str,
        name: str,
        ulimits: list[dict] | None = None,
        state_dir: Path | None = None,
        open_files_ceiling: int | None = None,
    ) -> None:
        self.url = url
        self.name = name  # "docker" or "podman"
        self._ulimits = ulimits or []
        # The most open files the engine can give a container process (its own hard limit),
        # when known; a container asking more fails to start.
        self.open_files_ceiling = open_files_ceiling or next(
            (u["Hard"] for u in self._ulimits if u["Name"] == "nofile"), None
        )
        self._layer_quota_ok: bool | None = None
        self._node_name: str | None = None  # the engine's host name, asked once
        self._layer_quota_lock = asyncio.Lock()
        self._state_dir = state_dir  # where files the engine reads by path are written
        self._seccomp_profile: str | None = None
        self._seccomp_lock = asyncio.Lock()
        self._docker = aiodocker.Docker(url=url, api_version=API_VERSION)
        self._background: set[asyncio.Task] = set()
        # A followed log holds its connection for as long as it lasts; taken from the pool above
        # (aiohttp's 100), a hundred of them would leave no connection for any other engine
        # call, whatever the environment. They get connections of their own, which
        # stream_limits bounds instead.
        self._streams_session = aiohttp.ClientSession(
            connector=(
                aiohttp.UnixConnector(url[len("unix://") :], limit=0)
                if url.startswith("unix://")
                else aiohttp.TCPConnector(limit=0)
            )
        )
        self._streams = aiodocker.Docker(url=url, api_version=API_VERSION, session=self._streams_session)
        self._networks = networks.EnvironmentNetworks(self._docker, name, self.answers)
        self._changes = networks.MembershipChanges(name, self.version)

    async def version(self) -> str:
        try:
            info = await self._docker.version()
        except DockerError as err:
            raise engine_error(err, "engine version") from None
        return str(info.get("Version", ""))

    async def answers(self) -> bool:
        """Whether the engine takes new connections and answers on them (see hijack.answers)."""
        return await answers(self.url)

    async def list_networks(self) -> None:
        try:
            await self._docker._query_json("networks")
        except DockerError as err:
            raise engine_error(err, "listing networks") from None

    async def containers_stop_with_engine(self) -> bool:
        """Whether the engine stops its containers when it stops: Docker does, unless it
        runs with live-restore. Podman's containers don't depend on its API service."""
        if self.name != "docker":
            return False
        try:
            info = await self._docker.system.info()
        except DockerError as err:
            raise engine_error(err, "engine info") from None
        return not info.get("LiveRestoreEnabled")

    async def node(self) -> str:
        """The name of the engine's host (GET /info's Name): every container here runs on it.
        Asked once; a host renamed while the engine runs keeps its old name in the engine too."""
        if self._node_name is None:
            try:
                info = await self._docker.system.info()
            except DockerError as err:
                raise engine_error(err, "engine info") from None
            self._node_name = str(info.get("Name") or "")
        return self._node_name

    async def node_names(self) -> dict[str, str]:
        return {"": await self.node()}

    async def cpus(self) -> int:
        try:
            info = await self._docker.system.info()
        except DockerError as err:
            raise engine_error(err, "engine info") from None
        return int(info.get("NCPU") or os.cpu_count() or 1)

    # ---- images ---------------------------------------------------------------

    async def inspect_image(self, ref: str) -> ImageInfo | None:
        try:
            data = await self._docker.images.inspect(ref)
        except DockerError as err:
            if missing(err):
                return None
            if "invalid reference" in str(err.message):
                raise BadImageReference(f"{ref!r} is not a valid image reference: {err.message}") from None
            raise engine_error(err, f"image {ref!r}") from None
        return ImageInfo(
            engine_id=data["Id"],
            tag=ref,
            created_at=timestamp(data.get("Created")),
            size_bytes=int(data.get("Size") or 0),
            labels=(data.get("Config") or {}).get("Labels") or {},
            env=(data.get("Config") or {}).get("Env") or [],
        )

    async def resolve_image(self, ref: str) -> ImageInfo:
        found = await self.inspect_image(ref)
        if found is not None:
            return found
        async for _ in self.pull(ref):
            pass
        found = await self.inspect_image(ref)
        if found is None:
            raise EngineNotFound(f"image {ref!r} is still missing after a pull")
        return found

    async def pull(self, ref: str) -> AsyncIterator[dict]:
        try:
            async for event in self._docker.images.pull(ref, stream=True):
                if event.get("error"):
                    raise pull_error(ref, str(event["error"]))
                yield event
        except DockerError as err:
            raise pull_error(ref, str(err.message)) from None
        except aiohttp.ClientError as err:
            raise EngineError(f"pulling image {ref!r}: the engine connection broke: {err}") from None

    async def push(self, ref: str) -> None:
        """Push `ref` (REGISTRY/NAME:TAG, tagged here) to its registry, for other engines to pull."""
        name, _, tag = ref.rpartition(":")
        try:
            # Anonymous, as an empty credential: Podman can't parse aiodocker's placeholder one.
            async for event in self._docker.images.push(name, auth={}, tag=tag, stream=True):
                if event.get("error"):
                    raise push_error(ref, str(event["error"]))
        except DockerError as err:
            raise push_error(ref, str(err.message)) from None
        except aiohttp.ClientError as err:
            raise EngineError(f"pushing image {ref!r}: the engine connection broke: {err}") from None

    async def commit(
        self, container_id: str, repo: str, tag: str, labels: dict[str, str], env: list[str] | None = None
    ) -> str:
        if env is None:
            return await self._commit(container_id, labels, repo=repo, tag=tag)
        # Shielded: a caller that stops waiting must not leave the untagged commit behind.
        task = asyncio.ensure_future(self._commit_with_env(container_id, f"{repo}:{tag}", labels, env))
        self._background.add(task)
        task.add_done_callback(self._background_done)
        return await asyncio.shield(task)

    def _background_done(self, task: asyncio.Task) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("%s", task.exception())

    async def _commit(self, container_id: str, labels: dict[str, str], **where: str) -> str:
        params = {"container": container_id, "pause": "true", **where}
        if labels:
            params["changes"] = "LABEL " + " ".join(f"{k}={v}" for k, v in labels.items())
        try:
            # Podman's compat endpoint wants a JSON body even when there is no config to set.
            reply = await self._docker._query_json("commit", method="POST", params=params, data={})
        except DockerError as err:
            raise engine_error(err, f"committing container {container_id[:12]}") from None
        return reply["Id"] if reply["Id"].startswith("sha256:") else "sha256:" + reply["Id"]

    async def _commit_with_env(
        self, container_id: str, ref: str, labels: dict[str, str], env: list[str]
    ) -> str:
        """Neither engine lets a commit drop a variable of the container's (the commit body and
        `changes` only add or override, and Docker keeps the container's whole config in the
        image as ContainerConfig): the commit is made untagged, then saved, rewritten and
        loaded as `ref` (image_archive.py), and removed."""
        committed = await self._commit(container_id, labels)
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None, sock_connect=10)
        loaded = None
        try:
            async with self._docker._query(f"images/{committed}/get", timeout=timeout) as saved:
                async with self._docker._query(
                    "images/load",
                    method="POST",
                    data=image_archive.with_env(saved.content, ref, env),
                    headers={"Content-Type": "application/x-tar"},
                    timeout=timeout,
                ) as response:
                    reply = await response.read()
            if b'"error' in reply:
                raise EngineError(f"loading the snapshot {ref}: {reply.decode(errors='replace')}")
            found = await self.inspect_image(ref)
            if found is None:
                raise EngineNotFound(f"the snapshot {ref} is missing after it was loaded")
            loaded = found.engine_id
            if found.env != env:
                await self._remove_image(ref)
                raise EngineError(f"the snapshot {ref} did not get the environment it was given")
            return loaded
        except DockerError as err:
            raise engine_error(err, f"rewriting the snapshot {ref}") from None
        except (image_archive.ArchiveError, aiohttp.ClientError, asyncio.IncompleteReadError) as err:
            raise EngineError(f"rewriting the snapshot {ref}: {err}") from None
        finally:
            if loaded != committed:
                await self._remove_image(committed)

    async def _remove_image(self, ref: str) -> None:
        try:
            await self._docker.images.delete(ref)
        except DockerError as err:
            if not missing(err):
                log.warning("could not remove image %s: %s", ref, err.message)

    async def logs(
        self, container_id: str, follow: bool, tty: bool, tail: int = 0
    ) -> AsyncIterator[tuple[int, bytes]]:
        async for frames in self._log_blocks(container_id, follow, tty, tail):
            for frame in log_tail.merged(frames):
                yield frame

    async def _log_blocks(
        self, container_id: str, follow: bool, tty: bool, tail: int
    ) -> AsyncIterator[list[tuple[int, bytes]]]:
        """The engine's log reply as it arrives: the (fd, bytes) entries of each piece (a
        terminal's output is one stream of bytes, without entries)."""
        if not container_id:
            raise ValueError("no container id")  # would ask for containers//logs: a bug, not the engine's
        params = {
            "stdout": "1",
            "stderr": "1",
            "follow": "1" if follow else "0",
            "tail": str(tail) if tail > 0 else "all",
        }
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None, sock_connect=10)
        try:
            async with self._streams._query(
                f"containers/{container_id}/logs", params=params, timeout=timeout
            ) as response:
                if tty:
                    async for data in response.content.iter_any():
                        yield [(1, data)]
                    return
                # Entries parsed out of whatever has arrived: a log of short lines is mostly
                # headers, and reading each one on its own costs more than the engine's reply.
                buffer = bytearray()
                async for data in response.content.iter_any():
                    buffer += data
                    entries = take_frames(buffer)
                    if entries:
                        yield entries
                # An entry cut short: the engine ended the stream inside it, the container went.
        except DockerError as err:
            raise engine_error(err, f"reading the output of container {container_id[:12]}") from None
        except aiohttp.ClientError as err:
            raise EngineError(f"reading the output of container {container_id[:12]}: {err}") from None

    async def last_output(self, container_id: str, tty: bool, size: int) -> list[tuple[int, bytes]]:
        if self.name == "podman":
            data = await self._show(container_id)
            if data is None:
                raise EngineNotFound(f"container {container_id[:12]} is gone")
            path = data.get("LogPath") or ""
            try:
                return await asyncio.to_thread(log_tail.from_k8s_file, Path(path), size)
            except OSError:
                # No k8s-file on this host (another log driver): the whole log, read through.
                return await log_tail.from_whole_read(self._log_blocks(container_id, False, tty, 0), size)
        return await log_tail.from_tail_reads(
            lambda entries: self._log_blocks(container_id, follow=False, tty=tty, tail=entries), size, tty
        )

    async def import_image(self, tar: bytes, repo: str, tag: str, labels: dict[str, str]) -> None:
        # One LABEL instruction for all labels: aiodocker can't repeat a query parameter.
        params = {"fromSrc": "-", "repo": repo, "tag": tag}
        if labels:
            params["changes"] = "LABEL " + " ".join(f"{k}={v}" for k, v in labels.items())
        try:
            await self._docker._query_json(
                "images/create",
                method="POST",
                params=params,
                data=tar,
                headers={"Content-Type": "application/x-tar"},
            )
        except DockerError as err:
            raise engine_error(err, f"importing image {repo}:{tag}") from None

    # ---- containers -----------------------------------------------------------

    writes_elsewhere = False  # the writable layer is on this host's disk (disk.py)
    places_by_labels = False  # one engine: there are no regions or clouds to choose

    def no_gpus(self) -> str:
        return gpu.no_gpus(self.name, gpu.host_gpus())

    def unsupported_fields(self) -> dict[str, str]:
        no_gpus = self.no_gpus()
        return {"gpu": no_gpus} if no_gpus else {}

    def gpus_for(self, spec: str) -> list[str]:
        return gpu.assign_gpus(self.name, spec, gpu.host_gpus())

    async def create_and_start(self, spec: ContainerSpec) -> str:
        network = None if spec.network_disabled else spec.network
        try:
            async with self._networks.joining(network):
                return await self._create_and_start(spec)
        except EngineError as err:
            # Removed behind the server's back since it was last made: made again, once.
            if network is None or not self._networks.gone(network.name, str(err)):
                raise
        async with self._networks.joining(network):
            return await self._create_and_start(spec)

    async def _create_and_start(self, spec: ContainerSpec) -> str:
        seccomp_options = await self._seccomp_options()
        layer_quota = bool(spec.disk_bytes) and await self._layer_quota(spec.image)
        host = container_config.host_config(spec, self.name, self._ulimits, seccomp_options, layer_quota)
        holder = None
        if spec.egress_allowlist is not None:
            holder = await self._network_holder(spec, host)
            host["NetworkMode"] = f"container:{holder}"
        config = container_config.container_config(spec, host)
        try:
            container = await self._docker.containers.create(config, name=spec.name)
        except DockerError as err:
            if holder:
                await self.remove(holder)
            raise _gpu_error(err, spec) or engine_error(err, "creating the container") from None
        try:
            # Read back before anything runs: the sandbox starts only as it was asked for.
            data = await self._show(container.id) or {}
            container_config.check_created(data, host, spec.mounts)
            async with self._changes.joining(host.get("NetworkMode")):
                await container.start()
        except (DockerError, EngineError) as err:
            await self.remove(container.id)
            if holder:
                await self.remove(holder)
            if isinstance(err, EngineError):
                raise
            raise _gpu_error(err, spec) or engine_error(err, "starting the container") from None
        return container.id

    async def finish_start(self, container_id: str, egress_allowlist: list[str] | None) -> None:
        pass  # the create started the command (behind its namespace's firewall, if any)

    async def _layer_quota(self, image: str) -> bool:
        """Whether the engine can cap a container's writable layer (StorageOpt size: overlay on
        xfs mounted with pquota); found out once."""
        async with self._layer_quota_lock:
            if self._layer_quota_ok is None:
                self._layer_quota_ok = await self._probe_layer_quota(image)
        return self._layer_quota_ok

    async def _probe_layer_quota(self, image: str) -> bool:
        try:
            info = await self._docker._query_json("info")
        except DockerError as err:
            raise engine_error(err, "reading the engine's storage driver") from None
        backing = dict((pair[0], pair[1]) for pair in info.get("DriverStatus") or [] if len(pair) == 2)
        if backing.get("Backing Filesystem") != "xfs":
            return False  # the engine would refuse: the server watches the layer instead
        config: dict[str, Any] = {
            "Image": image,
            "Cmd": ["true"],
            "HostConfig": {"StorageOpt": {"size": "1073741824"}},
        }
        try:
            probe = await self._docker.containers.create(config, name=f"sbtui-layer-quota-{os.getpid()}")
        except DockerError:
            return False  # xfs without pquota
        await self.remove(probe.id)
        return True

    async def _seccomp_options(self) -> list[str]:
        """Docker's default profile already denies user namespaces (clone and unshare with
        namespace flags need CAP_SYS_ADMIN) and keyrings; Podman's gets those rules added, once
        per server."""
        if self.name != "podman":
            return []
        async with self._seccomp_lock:
            if self._seccomp_profile is None:
                self._seccomp_profile = await self._write_podman_seccomp()
        return [f"seccomp={self._seccomp_profile}"]

    async def _write_podman_seccomp(self) -> str:
        try:
            info = await self._docker._query_json("libpod/info")
        except DockerError as err:
            raise engine_error(err, "reading Podman's security settings") from None
        return seccomp.write_podman_profile((info.get("host") or {}).get("security") or {}, self._state_dir)

    async def _network_holder(self, spec: ContainerSpec, host: dict) -> str:
        """Start the container whose network namespace the sandbox will join, with the
        allowlist already in force; returns its id."""
        config: dict[str, Any] = {
            "Image": spec.image,
            "Cmd": ["sleep", "infinity"],
            "Labels": spec.network_holder_labels,
            "HostConfig": {k: v for k, v in host.items() if k in ("Init", "Ulimits", "NetworkMode")},
        }
        try:
            holder = await self._docker.containers.create(config, name=spec.name + naming.HOLDER_SUFFIX)
        except DockerError as err:
            raise engine_error(err, "creating the sandbox's network namespace") from None
        try:
            async with self._changes.joining(host.get("NetworkMode")):
                await holder.start()
        except DockerError as err:
            await self.remove(holder.id)  # created but never started: nothing else would remove it
            raise engine_error(err, "starting the sandbox's network namespace") from None
        try:
            pid = int(((await holder.show()).get("State") or {}).get("Pid") or 0)
            if not pid:
                raise EngineError("the engine reported no process for the network namespace")
            await egress.apply(pid, spec.egress_allowlist or [])
        except (DockerError, EngineError) as err:
            await self.remove(holder.id)
            if isinstance(err, DockerError):
                raise engine_error(err, "inspecting the network namespace") from None
            raise
        return holder.id

    def _state(self, data: dict, node: str) -> ContainerState:
        state = data.get("State") or {}
        running = bool(state.get("Running"))
        exit_ = None
        if not running and state.get("Status") in ("exited", "dead", "stopped"):
            code = int(state.get("ExitCode") or 0)
            exit_ = ContainerExit(
                exit_code=code,
                oom_killed=bool(state.get("OOMKilled")),
                finished_at=timestamp(state.get("FinishedAt")) or time.time(),
                memory_limited=bool((data.get("HostConfig") or {}).get("Memory")),
            )
        return ContainerState(
            container_id=data["Id"],
            labels=(data.get("Config") or {}).get("Labels") or {},
            running=running,
            started_at=timestamp(state.get("StartedAt")),
            exit=exit_,
            node=node,
        )

    async def _show(self, container_id: str) -> dict | None:
        """The engine's inspect of a container; None when it does not exist."""
        try:
            return await self._docker.containers.container(container_id).show()
        except DockerError as err:
            if missing(err):
                return None
            raise engine_error(err, f"inspecting container {container_id[:12]}") from None

    async def inspect(self, container_id: str) -> ContainerState | None:
        data = await self._show(container_id)
        return None if data is None else self._state(data, await self.node())

    async def writable_paths(self, container_id: str) -> WritablePaths | None:
        data = await self._show(container_id)
        if data is None:
            return None
        layer = ((data.get("GraphDriver") or {}).get("Data") or {}).get("UpperDir") or ""
        files = [data[k] for k in ("HostsPath", "HostnamePath", "ResolvConfPath") if data.get(k)]
        if self.name == "podman" and data.get("HostsPath"):
            # Podman also mounts /run/.containerenv writable, from beside /etc/hosts.
            files.append(os.path.join(os.path.dirname(data["HostsPath"]), ".containerenv"))
        return WritablePaths(layer, files)

    async def disk_used(self, container_id: str) -> int | None:
        """Measured here: what a node's agent answers for the server (disk.py)."""
        paths = await self.writable_paths(container_id)
        if paths is None:
            return None
        try:
            return await asyncio.to_thread(disk.usage, paths)
        except FileNotFoundError:
            return None  # removed while it was measured

    async def container_address(self, container_id: str) -> str | None:
        data = await self._show(container_id)
        if data is None:
            return None
        mode = (data.get("HostConfig") or {}).get("NetworkMode") or ""
        if mode.startswith("container:"):  # it shares another container's network namespace
            return await self.container_address(mode.split(":", 1)[1])
        return address(data.get("NetworkSettings") or {})

    async def pid(self, container_id: str) -> int:
        """The host pid of the container's first process; 0 when it runs none."""
        data = await self._show(container_id) or {}
        return int((data.get("State") or {}).get("Pid") or 0)

    async def open_gate(self, container_id: str, allowlist: list[str] | None) -> None:
        """Let the command of a container started behind launcher.py's gate (on a cluster
        node) start, with the allowlist (if any) in force in its network namespace first."""
        pid = await self.pid(container_id)
        if not pid:
            raise EngineError(f"container {container_id[:12]} runs no process")
        if not launcher.behind_gate(pid):
            return  # opened already (a create cut short, finished by a restarted server)
        if allowlist is not None:
            await egress.apply(pid, allowlist)
        await launcher.open_gate(pid)

    async def dialer(self, container_id: str) -> Dialer | None:
        """Connections from this host to the container's address (found once)."""
        found = await self.container_address(container_id)
        if not found:
            return None
        return functools.partial(_connect, found)

    async def set_requests(self, container_id: str, cpu_shares: int, memory_reservation: int) -> None:
        """Give a running container the CPU shares and memory soft limit of its requests (0:
        leave as it is), as create does (container_config.host_config)."""
        body = {"CpuShares": cpu_shares} if cpu_shares else {}
        if memory_reservation:
            body["MemoryReservation"] = memory_reservation
        if not body:
            return
        try:
            await self._docker._query_json(f"containers/{container_id}/update", method="POST", data=body)
        except DockerError as err:
            raise engine_error(err, f"setting the requests of container {container_id[:12]}") from None

    async def kill(self, container_id: str) -> None:
        if not await self._changes.serial():
            await self._kill(container_id)
            return
        data = await self._show(container_id)
        if data is None or not (data.get("State") or {}).get("Running"):
            return
        async with self._changes.leaving((data.get("HostConfig") or {}).get("NetworkMode")):
            await self._kill(container_id)
            await self._left(container_id)

    async def _kill(self, container_id: str) -> None:
        try:
            await self._docker.containers.container(container_id).kill(signal="SIGKILL")
        except DockerError as err:
            # 409/500 "not running" means it is already gone: that is what we wanted.
            if missing(err) or "not running" in str(err.message):
                return
            raise engine_error(err, f"killing container {container_id[:12]}") from None

    async def _left(self, container_id: str) -> None:
        """Wait until the engine is done with a killed container's exit, its network released
        (see networks.MembershipChanges); a slow one is no reason to hold the others longer."""
        try:
            await asyncio.wait_for(
                self._docker.containers.container(container_id).wait(condition="not-running"), LEAVE_WAIT
            )
        except asyncio.TimeoutError:
            log.warning("container %s still ran %.0f s after its kill", container_id[:12], LEAVE_WAIT)
        except DockerError as err:
            if not missing(err):
                raise engine_error(err, f"waiting for container {container_id[:12]} to end") from None

    async def remove(self, container_id: str) -> None:
        data = await self._show(container_id) or {}
        joined = [
            n
            for n in (data.get("NetworkSettings") or {}).get("Networks") or {}
            if networks.is_environment_network(n)
        ]
        running = bool((data.get("State") or {}).get("Running"))
        try:
            # Forcing a running container out is a kill: its network changes as the kill's would.
            async with self._changes.leaving(
                (data.get("HostConfig") or {}).get("NetworkMode") if running else None
            ):
                await self._docker.containers.container(container_id).delete(force=True, v=True)
        except DockerError as err:
            if missing(err) or "already in progress" in str(err.message):
                return  # gone, or going: Docker answers 409 while another removal runs
            raise engine_error(err, f"removing container {container_id[:12]}") from None
        for name in joined:
            await self._networks.remove_if_unused(name)

    async def list_managed(self, label: str) -> list[ContainerState]:
        try:
            found = await self._docker.containers.list(all=True, filters=json.dumps({"label": [label]}))
        except DockerError as err:
            raise engine_error(err, "listing containers") from None
        states = []
        for item in found:
            state = await self.inspect(item.id)
            if state is not None:
                states.append(state)
        return states

    async def events(
        self, label: str, connected: Callable[[], None] | None = None
    ) -> AsyncIterator[tuple[str, str, dict[str, str]]]:
        params = {"filters": json.dumps({"label": [label], "type": ["container"]})}
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None, sock_connect=10)
        try:
            async with self._docker._query("events", params=params, timeout=timeout) as response:
                if connected is not None:
                    connected()  # from here on no exit can be missed
                async for line in response.content:
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    action = event.get("Action") or event.get("status") or ""
                    actor = event.get("Actor") or {}
                    container_id = event.get("id") or actor.get("ID", "")
                    # Both engines put the container's labels among the event's attributes.
                    labels = actor.get("Attributes") or {}
                    if action in _EXIT_ACTIONS:
                        yield "exit", container_id, labels
                    elif action in _NEW_ACTIONS:
                        yield "new", container_id, labels
        except DockerError as err:
            raise engine_error(err, "following engine events") from None
        except aiohttp.ClientError as err:
            raise EngineError(f"engine event stream broke: {err}") from None

    # ---- volumes --------------------------------------------------------------

    async def create_volume(self, name: str, labels: dict[str, str]) -> str:
        try:
            await self._docker._query_json(
                "volumes/create", method="POST", data={"Name": name, "Labels": labels}
            )
        except DockerError as err:
            # Docker answers an existing name with that volume, Podman with 409 or 500.
            if err.status != 409 and "already exists" not in str(err.message).lower():
                raise engine_error(err, f"creating volume {name}") from None
        return ""  # one engine: the volume is where every sandbox runs

    async def volumes(self, label: str) -> list[str]:
        """The names of the engine's volumes carrying `label` ("key" or "key=value")."""
        try:
            found = await self._docker._query_json(
                "volumes", params={"filters": json.dumps({"label": [label]})}
            )
        except DockerError as err:
            raise engine_error(err, "listing volumes") from None
        return sorted(v["Name"] for v in found.get("Volumes") or [])

    async def remove_volume(self, name: str, node: str = "") -> None:
        try:
            async with self._docker._query(f"volumes/{name}", method="DELETE"):
                pass
        except DockerError as err:
            if missing(err):
                return
            message = str(err.message)
            if err.status == 409 or "in use" in message.lower() or "being used" in message.lower():
                raise EngineInUse(f"volume {name} is in use: {message}", err.status) from None
            raise engine_error(err, f"removing volume {name}") from None

    async def remove_unused_networks(self, label: str) -> None:
        await self._networks.remove_unused(label)

    # ---- exec -----------------------------------------------------------------

    async def exec(self, container_id: str, spec: ExecSpec) -> engine_exec.EngineExec:
        return await engine_exec.start(self._docker, self.url, container_id, spec)

    async def kill_execs(self, container_ids: list[str]) -> None:
        """SIGKILL every process an exec started in these containers, with its children;
        return once they have ended.

        Found on the host rather than from the engine's exec records, which Podman loses when
        a session's client goes away while its process runs on: an exec's process is in the
        container's PID namespace, but its parent (the engine's shim) is not.
        """
        inits = [await self.pid(container_id) for container_id in container_ids]
        await host_processes.kill_exec_trees(inits)

    async def close(self) -> None:
        await self._docker.close()
        await self._streams.close()
        await self._streams_session.close()
