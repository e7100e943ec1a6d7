"""What the engine itself holds of a server's sandboxes, asked of it with no sbtui server in
between: on one engine its containers (named sbtui-<sandbox id>); on swarm the services (named
the same) on the manager, and the container of a service's task on the node that runs it."""

from __future__ import annotations

import json
import subprocess

import aiodocker

from sbtui.server.runtime import naming
from sbtui.server.runtime.engine_api import missing
from tests.servers import ServerProcess
from tests.swarm_cluster import SwarmCluster


def engine_clis(engine: str) -> list[list[str]]:
    """The CLI of every engine that holds a server's containers and volumes: on swarm, that of
    each node of the test cluster."""
    if engine != "swarm":
        return [[engine]]
    cluster = SwarmCluster.load()
    assert cluster is not None, "no test swarm cluster is up"
    return [["docker", "--host", node.engine_url] for node in cluster.nodes.values()]


def _cli(server: ServerProcess, *args: str) -> str:
    """Run the engine's CLI on the server's engine (a swarm's manager is a Docker engine)."""
    command = ["docker", "--host", server.engine_url] if server.engine == "swarm" else [server.engine]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60, check=True).stdout


def held(server: ServerProcess, sandbox_ids: list[str], running: bool = False) -> list[str]:
    """The names of the containers (services on swarm) of `sandbox_ids` the engine still holds;
    with `running`, only those whose process still runs (on swarm: whose task does)."""
    label = f"label=io.sbtui.server={server.server_id}"
    wanted = {f"sbtui-{sandbox_id}" for sandbox_id in sandbox_ids}
    if server.engine != "swarm":
        listed = _cli(
            server,
            "ps",
            "--format",
            "{{.Names}}",
            "--filter",
            label,
            *(["--filter", "status=running"] if running else ["--all"]),
        )
        return sorted(set(listed.split()) & wanted)
    services = sorted(
        set(_cli(server, "service", "ls", "--format", "{{.Name}}", "--filter", label).split()) & wanted
    )
    if not running or not services:
        return services
    return sorted({task.split(".", 1)[0] for task in _running_tasks(server, services)})


def _running_tasks(server: ServerProcess, services: list[str]) -> list[str]:
    """The names (service.slot) of the tasks of `services` that run now."""
    lines = _cli(server, "service", "ps", "--format", "{{.Name}}\t{{.CurrentState}}", *services).splitlines()
    return [name for name, state in (line.split("\t", 1) for line in lines) if state.startswith("Running")]


def container(server: ServerProcess, sandbox_id: str) -> dict:
    """The engine's inspection of the sandbox's container: on swarm that of its service's
    newest task, asked of the engine of the node that holds it."""
    name = f"sbtui-{sandbox_id}"
    if server.engine != "swarm":
        return json.loads(_cli(server, "inspect", "--type", "container", name))[0]
    tasks = json.loads(
        _cli(
            server,
            "inspect",
            "--type",
            "task",
            *_cli(server, "service", "ps", "--quiet", "--no-trunc", name).split(),
        )
    )
    task = max(tasks, key=lambda t: t["Version"]["Index"])
    cluster = SwarmCluster.load()
    assert cluster is not None, "the test swarm's state file is gone"
    node = next(n for n in cluster.nodes.values() if n.id == task["NodeID"])
    found = subprocess.run(
        [
            "docker",
            "--host",
            node.engine_url,
            "inspect",
            "--type",
            "container",
            task["Status"]["ContainerStatus"]["ContainerID"],
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return json.loads(found)[0]


def log_path(server: ServerProcess, sandbox_id: str) -> str:
    """The file the engine writes the sandbox's output to (on swarm, on the task's node; the
    test swarm's nodes share this machine's disk). Podman's CLI names it in its LogConfig."""
    data = container(server, sandbox_id)
    return data.get("LogPath") or data["HostConfig"]["LogConfig"]["Path"]


async def service_of(docker: aiodocker.Docker, sandbox_id: str) -> dict | None:
    """The swarm service of a sandbox (the manager's inspect), None once it is gone."""
    found = await docker._query_json(
        "services", params={"filters": json.dumps({"label": [f"{naming.LABEL_SANDBOX}={sandbox_id}"]})}
    )
    return found[0] if found else None


async def networks_of(server, sandbox_id: str) -> tuple[str, list[str]]:
    """The sandbox's network mode ("" on swarm, where a service has none) and the names of the
    networks it is on. With an allowlist on one engine, those are its namespace holder's."""
    async with aiodocker.Docker(url=server.engine_url) as docker:
        if server.engine == "swarm":
            service = await service_of(docker, sandbox_id)
            assert service is not None, f"sandbox {sandbox_id} has no service"
            targets = [n["Target"] for n in service["Spec"]["TaskTemplate"].get("Networks") or []]
            return "", sorted([(await docker._query_json(f"networks/{t}"))["Name"] for t in targets])
        data = await docker.containers.container(f"sbtui-{sandbox_id}").show()
        mode = (data.get("HostConfig") or {}).get("NetworkMode", "")
        if mode.startswith("container:"):
            data = await docker.containers.container(mode.removeprefix("container:")).show()
        return mode, sorted((data.get("NetworkSettings") or {}).get("Networks") or {})


async def remove(server, sandbox_id: str) -> None:
    """Take the sandbox's container away behind the server's back (on swarm, its service)."""
    async with aiodocker.Docker(url=server.engine_url) as docker:
        if server.engine == "swarm":
            service = await service_of(docker, sandbox_id)
            if service is not None:
                async with docker._query(f"services/{service['ID']}", method="DELETE"):
                    pass
            return
        await docker.containers.container(f"sbtui-{sandbox_id}").delete(force=True)


async def labelled(server) -> list[dict]:
    """The containers carrying the server's label (on swarm its services, each with the state
    of its current task), as the engine itself lists them: id, state, labels."""
    owned = json.dumps({"label": [f"{naming.LABEL_SERVER}={server.server_id}"]})
    async with aiodocker.Docker(url=server.engine_url) as docker:
        if server.engine != "swarm":
            found = await docker.containers.list(all=True, filters=owned)
            return [{"id": c.id, "state": c["State"], "labels": c["Labels"] or {}} for c in found]
        services = await docker._query_json("services", params={"filters": owned})
        listed = []
        for service in services:
            try:
                tasks = await docker._query_json(
                    "tasks", params={"filters": json.dumps({"service": [service["ID"]]})}
                )
            except aiodocker.DockerError as exc:
                if not missing(exc):
                    raise
                continue  # removed between the two questions: it is gone
            current = max(tasks, key=lambda t: t["Version"]["Index"], default=None)
            state = ((current or {}).get("Status") or {}).get("State", "")
            labels = service["Spec"].get("Labels") or {}
            listed.append({"id": service["ID"], "state": state, "labels": labels})
        return listed
