"""One engine network per environment: sandboxes of one environment reach each other, those of
different environments don't.

Each engine keeps its bridge networks apart from each other: Docker every one (its
DOCKER-ISOLATION chains), Podman those made with its `isolate` option (on the CNI backend the
firewall plugin's same-bridge ingress policy, on netavark its own rules). The host reaches
every network, so tunnels still join connections at a container's address.

A network is named from a digest of the server's id and the environment, since an environment's
name is a tenant's string and must never become part of an engine name or option; its labels
(values only, which no engine parses) say whose it is.

The first create in an environment makes its network; it is removed once no container uses
it: when the last container on it is removed, and at server start (one a killed server left).
So the engine's address pools hold only environments that have sandboxes, which matters on
Docker, whose default pools give about 30 bridge networks per host.

Podman's compat API sets no `isolate` (and, asked, warns it does not know it): on Podman a
network is made through Podman's own API, which names it, and refused if it came out without.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from typing import Awaitable, Callable

import aiodocker
from aiodocker.exceptions import DockerError

from sbtui.server.runtime.base import EngineError, NetworkSpec
from sbtui.server.runtime.engine_api import API_VERSION, LIBPOD_API, engine_error, missing
from sbtui.server.runtime.naming import LABEL_ENVIRONMENT, LABEL_SERVER

PREFIX = "sbtui-env-"


def for_environment(server_id: str, environment: str) -> NetworkSpec:
    digest = hashlib.sha256(f"{server_id}\0{environment}".encode()).hexdigest()[:24]
    return NetworkSpec(PREFIX + digest, {LABEL_SERVER: server_id, LABEL_ENVIRONMENT: environment})


def isolated(sandbox_id: str, labels: dict[str, str]) -> NetworkSpec:
    """A network of one sandbox's own with no way out (block_network on swarm, where a
    service can't be left without a network)."""
    return NetworkSpec(f"{PREFIX}isolated-{sandbox_id}", labels, internal=True)


def is_environment_network(name: str) -> bool:
    return name.startswith(PREFIX)


def pools_used_up(message: str) -> str | None:
    """What to do when the engine has no address range left for another network."""
    lowered = message.lower()
    if "address pool" in lowered or "free subnet" in lowered:
        return (
            "the engine has no address range left for another network (each environment with "
            "sandboxes has one); end the sandboxes of environments no longer used, or give the "
            "engine more: default-address-pools in /etc/docker/daemon.json (e.g. "
            '[{"base": "10.200.0.0/16", "size": 24}] gives 256 networks), default_subnet_pools '
            "in containers.conf for Podman"
        )
    return None


# Docker before 20.10.27 (Debian 12 ships 20.10.24) can deadlock for good when a container
# leaves a user-defined network while another joins or leaves it: the leaver reads its
# /etc/hosts entries under the network's lock, then the daemon's, while the daemon's
# service-record loop handles the other under the daemon's lock, then the network's. Every later
# call that needs a network then waits forever: starts, exits, `docker network ls`
# (moby/moby#46661, fixed by moby/libnetwork#2679). Seen here: two sandboxes of one environment
# killed 12 ms apart. Joins alone never take the locks in the leaver's order.
FIXED_IN = (20, 10, 27)


def changes_collide(engine: str, version: str) -> bool:
    """Whether `engine` at `version` has that deadlock: Docker before 20.10.27."""
    if engine != "docker":
        return False  # Podman has no libnetwork; swarm's overlay networks skip that loop
    parts = []
    for part in version.split("+")[0].split("-")[0].split(".")[:3]:
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts) < FIXED_IN if len(parts) == 3 else False


class _Turns:
    """One network's changes: joins together, each leave alone (and first, once waiting)."""

    def __init__(self) -> None:
        self._changed = asyncio.Condition()
        self._joins = 0
        self._leaving = False
        self._leaves_waiting = 0

    @contextlib.asynccontextmanager
    async def join(self):
        async with self._changed:
            await self._changed.wait_for(lambda: not self._leaving and not self._leaves_waiting)
            self._joins += 1
        try:
            yield
        finally:
            async with self._changed:
                self._joins -= 1
                self._changed.notify_all()

    @contextlib.asynccontextmanager
    async def leave(self):
        async with self._changed:
            self._leaves_waiting += 1
            try:
                await self._changed.wait_for(lambda: not self._leaving and not self._joins)
            finally:
                self._leaves_waiting -= 1
            self._leaving = True
        try:
            yield
        finally:
            async with self._changed:
                self._leaving = False
                self._changed.notify_all()


class MembershipChanges:
    """On an engine where they can deadlock it (`changes_collide`), keeps each leave of a
    network from overlapping any other change of that network; on any other engine everything
    goes at once.

    A join is a container's start. A leave is a kill waited on until the engine is done with
    the container's exit (its `die` comes after its network is released), or a forced removal
    of a running container. Exits that no one asked for still happen when they happen."""

    def __init__(self, engine: str, version: Callable[[], Awaitable[str]]) -> None:
        self._engine = engine
        self._version = version
        self._serial: bool | None = None  # decided from the engine's version, once it answers
        self._turns: dict[str, _Turns] = {}

    async def serial(self) -> bool:
        """Whether this engine's leaves of one network wait for its other changes."""
        if self._serial is None:
            self._serial = changes_collide(self._engine, await self._version())
        return self._serial

    @contextlib.asynccontextmanager
    async def joining(self, network: str | None):
        """Around the start of a container whose network mode is `network`."""
        turns = await self._turns_of(network)
        if turns is None:
            yield
            return
        async with turns.join():
            yield

    @contextlib.asynccontextmanager
    async def leaving(self, network: str | None):
        """Around the kill (and its wait) or forced removal of a container on `network`."""
        turns = await self._turns_of(network)
        if turns is None:
            yield
            return
        async with turns.leave():
            yield

    async def _turns_of(self, network: str | None) -> _Turns | None:
        if not network or not is_environment_network(network) or not await self.serial():
            return None  # only environment networks are sbtui's to order
        return self._turns.setdefault(network, _Turns())


class EnvironmentNetworks:
    """The environment networks of one engine ("docker", "podman" or "swarm"), through its Engine API
    (`docker`); `answers` tells whether the engine takes new connections."""

    def __init__(self, docker: aiodocker.Docker, engine: str, answers: Callable[[], Awaitable[bool]]) -> None:
        self._docker = docker
        self._engine = engine
        self._answers = answers
        self._locks: dict[str, asyncio.Lock] = {}
        self._joins: dict[str, int] = {}  # network -> creates in flight that join it
        # Networks known to exist, made or found made, until deleted here or found gone: asking
        # Docker to make an existing one again costs a create 75 ms.
        self._known: set[str] = set()

    @contextlib.asynccontextmanager
    async def joining(self, network: NetworkSpec | None):
        """Make `network` if it is missing, and keep it from removal while a create that
        joins it is in flight (a created container that has not started is no endpoint yet)."""
        if network is None:
            yield
            return
        async with self._locks.setdefault(network.name, asyncio.Lock()):
            if network.name not in self._known:
                await self._create(network)
                self._known.add(network.name)
            self._joins[network.name] = self._joins.get(network.name, 0) + 1
        try:
            yield
        except BaseException:
            self._joins[network.name] -= 1
            # A create that failed left nothing on the network: it goes unless others are there.
            with contextlib.suppress(EngineError):
                await self.remove_if_unused(network.name)
            raise
        self._joins[network.name] -= 1

    def gone(self, name: str, message: str) -> bool:
        """Whether an engine's refusal says the network `name` is not there (removed by someone
        else, or still going as it was made again); if so it is made again at the next join."""
        # Docker: "network NAME not found"; Podman: "unable to find network with name or ID
        # NAME: network not found".
        if name not in message or "not found" not in message.lower():
            return False
        self._known.discard(name)
        return True

    async def _create(self, network: NetworkSpec) -> None:
        body: dict[str, object]
        if self._engine == "podman":
            path = f"{LIBPOD_API}/libpod/networks/create"
            body = {
                "name": network.name,
                "driver": "bridge",
                "labels": network.labels,
                "options": {"isolate": "true"},
            }
        else:
            path = f"{API_VERSION}/networks/create"
            body = {
                # On swarm, an overlay: the environment's sandboxes reach each other on any node.
                "Name": network.name,
                "Driver": "overlay" if self._engine == "swarm" else "bridge",
                "Labels": network.labels,
                "CheckDuplicate": True,
                "Internal": network.internal,
            }
        try:
            reply = await self._docker._query_json(path, method="POST", data=body, versioned_api=False)
        except DockerError as err:
            message = str(err.message)
            if err.status == 409 or "already exists" in message.lower():
                return
            advice = pools_used_up(message)
            raise EngineError(f"making the environment's network: {advice or message}", err.status) from None
        if self._engine == "podman" and (reply or {}).get("options", {}).get("isolate") != "true":
            await self._delete(network.name)
            raise EngineError(
                "Podman made the environment's network without its isolate option, so other "
                "environments could reach it; use a Podman whose `network create` takes `--opt "
                "isolate=true`"
            )

    async def remove_if_unused(self, name: str) -> None:
        """Remove the network once no container is on it and no create is joining it."""
        async with self._locks.setdefault(name, asyncio.Lock()):
            if self._joins.get(name):
                return
            if not await self._answers():
                # A stopping dockerd (no new connections, old ones still served) fails a network
                # delete half-way, its store left with a network it can't read back: Docker 20.10
                # then panics at its next start (libnetwork reservePools). Left for later: the
                # next start of this server removes unused networks.
                return
            # Deleted only once the engine lists no container on it (it would refuse anyway),
            # to keep deletes out of races with containers leaving: Docker has been seen to
            # keep counting an endpoint that no container had, leaving the network undeletable.
            try:
                data = await self._docker._query_json(f"networks/{name}")
            except DockerError as err:
                if missing(err):
                    self._known.discard(name)
                    return
                raise engine_error(err, f"inspecting network {name}") from None
            if not await self._used(data):
                await self._delete(name)

    async def _used(self, network: dict) -> bool:
        """Whether a container is on the network; on swarm, whether a service names it (the
        manager sees only its own node's containers)."""
        if self._engine != "swarm":
            return bool(network.get("Containers"))
        try:
            services = await self._docker._query_json("services")
        except DockerError as err:
            raise engine_error(err, "listing services") from None
        for service in services:
            template = (service.get("Spec") or {}).get("TaskTemplate") or {}
            if any(
                n.get("Target") in (network.get("Id"), network.get("Name"))
                for n in template.get("Networks") or []
            ):
                return True
        return False

    async def _delete(self, name: str) -> None:
        """Delete the network; nothing when it is in use (the engine refuses) or gone."""
        try:
            async with self._docker._query(f"networks/{name}", method="DELETE"):
                pass
        except DockerError as err:
            message = str(err.message).lower()
            if "active endpoints" in message or "being used" in message:
                return
            if not missing(err):
                raise engine_error(err, f"removing network {name}") from None
        self._known.discard(name)

    async def remove_unused(self, label: str) -> None:
        try:
            found = await self._docker._query_json(
                "networks", params={"filters": json.dumps({"label": [label]})}
            )
        except DockerError as err:
            raise engine_error(err, "listing networks") from None
        for network in found or []:
            if is_environment_network(network.get("Name", "")):
                await self.remove_if_unused(network["Name"])
