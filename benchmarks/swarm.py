"""What sbtui adds on a Docker Swarm, against the swarm's own service API on the same cluster.

It brings up the 3-node test swarm (tests/swarm_cluster.py) unless one is up already, starts a
node agent on each node and an `sbtui server --engine swarm`, and times, interleaving sbtui
and raw runs so noise hits both:

- create -> running: `client.sandboxes.create(app, image)` against a one-replica service with
  the task template of a service sbtui made (labels not sbtui's, an overlay network of its own
  as sbtui's environment has one) created on the manager, and its task's state read until it
  runs (every 20 ms). Every node holds both networks already (a sandbox of the environment,
  and a raw task, run on each throughout), as the nodes of a cluster in use do: the first task
  of an overlay network on a node costs that node about 0.3 s to set the network up, which the
  side whose last task was still being torn down on that node would be spared;
- exec `true` -> exit code: `sb.exec(["true"])` + `wait()` (server -> the node's agent -> its
  engine) against an exec in the raw service's container, on its node's own engine;
- N sandboxes created at once across the nodes, each exec'd (`echo ok`) and terminated: the
  errors, and how SwarmKit spread them.

    .venv/bin/python -m benchmarks.swarm [--runs 20] [--warmup 2] [--concurrent 100]

It exits 0 when a target is missed (it measures, it doesn't judge) and 1 when anything errored.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import secrets
import statistics
import sys
import time
from dataclasses import dataclass, field

import aiodocker
from aiodocker.exceptions import DockerError

import sbtui
from benchmarks.engine_overhead import Concurrency, Pair, RawEngine, interleaved, p90, sbtui_at_once
from sbtui.client import SandboxState
from sbtui.server.runtime import swarm_tasks
from sbtui.server.runtime.engine_api import API_VERSION
from tests.servers import IMAGE, ServerProcess, new_state_dir
from tests.swarm_agents import SwarmAgents
from tests.swarm_cluster import SwarmCluster

TARGETS = {"create": 1.15, "exec": 1.30}
POLL = 0.02  # seconds between the raw side's reads of its task


class RawSwarm:
    """The swarm's service API on the manager, and each node's engine for execs."""

    def __init__(self, cluster: SwarmCluster, made: dict, run_token: str) -> None:
        self.cluster = cluster
        # The task template and endpoint of a service sbtui made for a default sandbox (its
        # image as nodes pull it, its limits, log driver, capabilities, no virtual IP): the raw
        # services are the very same.
        self.template = made["TaskTemplate"]
        self.endpoint = made.get("EndpointSpec") or {}
        self.run_token = run_token
        self.docker = aiodocker.Docker(url=cluster.manager.engine_url, api_version=API_VERSION)
        self.nodes = {n.id: RawEngine(n.engine_url, [], run_token) for n in cluster.nodes.values()}
        self.made: set[str] = set()
        self.network = ""  # an overlay network of its own, as sbtui's sandboxes have one per environment

    async def prepare(self) -> None:
        created = await self.docker._query_json(
            "networks/create",
            method="POST",
            data=json.dumps({"Name": f"sbtui-bench-raw-{self.run_token}", "Driver": "overlay"}),
        )
        self.network = created["Id"]

    async def create_and_start(self, node_id: str = "") -> swarm_tasks.Task:
        """A service like sbtui's, on node `node_id` if given; its task once it runs."""
        labels = {"io.sbtui.bench": self.run_token}  # not sbtui's: its server leaves these alone
        template = json.loads(json.dumps(self.template))
        template["ContainerSpec"]["Labels"] = labels
        template["Networks"] = [{"Target": self.network}]
        if node_id:
            template["Placement"] = {"Constraints": [f"node.id=={node_id}"]}
        body = {
            "Name": f"sbtui-bench-raw-{secrets.token_hex(8)}",
            "Labels": labels,
            "TaskTemplate": template,
            "Mode": {"Replicated": {"Replicas": 1}},
            "EndpointSpec": self.endpoint,
        }
        created = await self.docker._query_json("services/create", method="POST", data=json.dumps(body))
        service_id = created["ID"]
        self.made.add(service_id)
        while True:
            tasks = await self.docker._query_json(
                "tasks", params={"filters": json.dumps({"service": [service_id]})}
            )
            task = swarm_tasks.by_service([swarm_tasks.task(t) for t in tasks]).get(service_id)
            if task is not None and task.running:
                return task
            if task is not None and task.ended:
                raise AssertionError(f"raw service {service_id[:12]}: {task.state} {task.message}")
            await asyncio.sleep(POLL)

    async def remove(self, service_id: str) -> None:
        try:
            async with self.docker._query(f"services/{service_id}", method="DELETE"):
                pass
        except DockerError as err:
            if err.status != 404:
                raise
        self.made.discard(service_id)

    async def exec(self, task: swarm_tasks.Task, command: list[str]) -> tuple[int, bytes]:
        return await self.nodes[task.node_id].exec(task.container_id, command)

    async def close(self) -> None:
        for service_id in list(self.made):
            print(f"cleanup: removing leftover raw service {service_id[:12]}", file=sys.stderr)
            await self.remove(service_id)
        for engine in self.nodes.values():
            await engine.close()
        if self.network:
            await _remove_network(self.docker, self.network)
        await self.docker.close()


async def _remove_network(docker: aiodocker.Docker, network: str) -> None:
    """Removed once the manager has let go of the services that were on it."""
    deadline = time.monotonic() + 30
    while True:
        try:
            async with docker._query(f"networks/{network}", method="DELETE"):
                return
        except DockerError as err:
            if err.status == 404 or time.monotonic() > deadline:
                return
        await asyncio.sleep(0.2)


@dataclass
class Result:
    version: str = ""
    load: tuple[float, float] = (0.0, 0.0)
    create: Pair | None = None
    exec: Pair | None = None
    concurrent: Concurrency | None = None
    spread: dict[str, int] = field(default_factory=dict)  # node -> sandboxes of the N at once
    errors: list[str] = field(default_factory=list)


async def concurrently(client, app, image, n: int, result: Result) -> Concurrency:
    async def spread(sandboxes) -> None:
        nodes = [(await sb.refresh()).node for sb in sandboxes]
        result.spread = dict(collections.Counter(nodes))

    done, _ = await sbtui_at_once(client, app, image, n, spread)
    return done


async def bench(cluster: SwarmCluster, args) -> Result:
    result = Result()
    agents = SwarmAgents(cluster).start()
    server = ServerProcess("swarm", new_state_dir("bench-swarm"), extra=agents.server_options())
    raw = None
    client = None
    result.load = (os.getloadavg()[0], 0.0)
    try:
        server.start()
        client = await sbtui.Client.connect(server.address)
        app = await client.apps.from_name("bench", create_if_missing=True)
        image = await client.images.from_registry(IMAGE).resolve()
        # The image as sbtui's services name it (its copy in the cluster registry), found by
        # a sandbox's own service: the raw side runs the very same image.
        first = await client.sandboxes.create(app, image, timeout=600)
        manager = aiodocker.Docker(url=cluster.manager.engine_url, api_version=API_VERSION)
        services = await manager._query_json(
            "services", params={"filters": json.dumps({"name": [f"sbtui-{first.sandbox_id}"]})}
        )
        made = services[0]["Spec"]
        result.version = (await manager.version()).get("Version", "?")
        await manager.close()
        await first.terminate(wait=True)
        raw = RawSwarm(cluster, made, secrets.token_hex(6))
        await raw.prepare()
        # Both networks up on every node (the module's docstring): one of each side's on each.
        nodes = list(cluster.nodes.values())
        holders = [await client.sandboxes.create(app, image, timeout=3600, cloud=n.cloud) for n in nodes]
        raw_holders = [await raw.create_and_start(n.id) for n in nodes]

        async def ours_create():
            sb = await client.sandboxes.create(app, image, timeout=600)
            if sb.info.state != SandboxState.RUNNING:
                raise AssertionError(f"sandbox {sb.sandbox_id} came back {sb.info.state}")
            return lambda: sb.terminate(wait=True)

        async def raw_create():
            task = await raw.create_and_start()
            return lambda: raw.remove(task.service_id)

        print(f"create -> running: {args.runs} runs each, interleaved", flush=True)
        result.create = await interleaved(args.runs, args.warmup, ours_create, raw_create)

        sandbox = await client.sandboxes.create(app, image, timeout=3600)
        task = await raw.create_and_start()
        try:

            async def ours_exec():
                p = await sandbox.exec(["true"])
                if (code := await p.wait()) != 0:
                    raise AssertionError(f"sbtui exec true exited {code}")
                return _nothing

            async def raw_exec():
                code, _ = await raw.exec(task, ["true"])
                if code != 0:
                    raise AssertionError(f"raw exec true exited {code}")
                return _nothing

            print(f"exec true -> exit: {args.runs} runs each, interleaved", flush=True)
            result.exec = await interleaved(args.runs, args.warmup, ours_exec, raw_exec)
        finally:
            await sandbox.terminate(wait=True)
            await raw.remove(task.service_id)
            for holder in holders:
                await holder.terminate(wait=True)
            for raw_holder in raw_holders:
                await raw.remove(raw_holder.service_id)

        print(f"{args.concurrent} sandboxes at once", flush=True)
        result.concurrent = await concurrently(client, app, image, args.concurrent, result)
    except Exception as err:  # noqa: BLE001 (a benchmark reports what broke and goes on)
        result.errors.append(f"{type(err).__name__}: {err}")
    finally:
        if client is not None:
            await client.close()
        if raw is not None:
            await raw.close()
        left = server.dispose(tell=True)
        if left:
            result.errors.append(f"{len(left)} services left behind")
        agents.stop()
        result.load = (result.load[0], os.getloadavg()[0])
    return result


async def _nothing() -> None:
    return None


def report(result: Result) -> bool:
    """Print the figures; whether every target was met."""
    met = True
    print(f"\nswarm, Docker {result.version}, 3 nodes; load {result.load[0]:.1f} -> {result.load[1]:.1f}")
    for name, pair in (("create -> running", result.create), ("exec true -> exit", result.exec)):
        if not pair or not pair.ours:
            continue
        key = name.split()[0]
        ours, raw = statistics.median(pair.ours), statistics.median(pair.raw)
        ratio = ours / raw
        ok = ratio <= TARGETS[key]
        met &= ok
        print(
            f"  {name:18} sbtui p50 {ours:7.1f} ms p90 {p90(pair.ours):7.1f} | raw swarm p50 {raw:7.1f} ms "
            f"p90 {p90(pair.raw):7.1f} | {ratio:.2f}x (target <= {TARGETS[key]}x) {'ok' if ok else 'MISSED'}"
        )
    if result.concurrent:
        c = result.concurrent
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in c.phases.items())
        print(f"  {c.n} at once: {phases}; {len(c.errors)} errors")
        print(
            "  spread: "
            + ", ".join(f"{node or '?'} {count}" for node, count in sorted(result.spread.items()))
        )
        for error in c.errors[:10]:
            print(f"    {error}")
    for error in result.errors:
        print(f"  error: {error}")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--concurrent", type=int, default=100)
    args = parser.parse_args()
    cluster = SwarmCluster.load()
    made = cluster is None
    if made:
        cluster = SwarmCluster().start()
    try:
        started = time.monotonic()
        result = asyncio.run(bench(cluster, args))
        report(result)
        print(f"  ({time.monotonic() - started:.0f} s)")
    finally:
        if made:
            cluster.stop()
    errored = result.errors or (result.concurrent and result.concurrent.errors)
    return 1 if errored else 0


if __name__ == "__main__":
    sys.exit(main())
