"""The 3-node swarm the swarm tests run on (tests/swarm_cluster.py): its nodes are Ready and
labelled, SwarmKit places a service on each of them, its registry carries an image from one
node to another, and its teardown leaves nothing on the machine."""

from __future__ import annotations

import json
import secrets
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.registry import docker_archive
from tests.servers import IMAGE, wait_for
from tests.swarm_cluster import STATE_FILE, SwarmCluster

pytestmark = pytest.mark.swarm


def test_teardown_leaves_nothing_even_after_faults(own_swarm_cluster: SwarmCluster):
    host_swarm, host_networks = host_swarm_node(), host_network_names()
    cluster = own_swarm_cluster.start()
    assert STATE_FILE.exists()
    # The machine's own engine is none of the cluster's nodes.
    assert host_swarm_node() == host_swarm
    assert host_swarm_node() not in {node.id for node in cluster.nodes.values()}
    # A task on each worker, then the faults a test may leave behind: one worker's engine
    # killed (its task's processes outlive it), the other's link cut.
    tasks = {}
    for node in ("worker-1", "worker-2"):
        service = run_service(cluster, node)
        container = wait_for(lambda: task_container(cluster, node, service), 60, f"the task on {node}", 0.1)
        tasks[node] = int(cluster.docker(node, "inspect", "--format", "{{.State.Pid}}", container))
    cluster.kill_engine("worker-1")
    cluster.cut_network("worker-2")
    assert b"sleep" in cmdline(tasks["worker-1"])

    cluster.stop()

    assert cluster.leftovers() == []
    # The same, each spelled out, so that a gap in leftovers() shows too.
    assert "sbtui-swarm" not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for node in cluster.nodes.values():
        assert not Path(f"/sys/class/net/{node.veth}").exists()
        assert b"dockerd" not in cmdline(node.pid)
    for node in cluster.workers:
        assert b"sleep" not in cmdline(tasks[node.name])
    # The machine's own engine as it was: in the swarm it was in, if any, with its networks.
    assert host_swarm_node() == host_swarm
    assert host_network_names() == host_networks
    assert not Path(cluster.directory).exists()
    assert not STATE_FILE.exists()


def test_three_ready_nodes_with_their_labels(swarm_cluster: SwarmCluster):
    listed = swarm_cluster.docker("manager", "node", "ls", "--format", "{{.ID}}").split()
    shown = [
        json.loads(line)
        for line in swarm_cluster.docker(
            "manager", "node", "inspect", "--format", "{{json .}}", *listed
        ).splitlines()
    ]
    assert {node["ID"]: node["Status"]["State"] for node in shown} == {
        node.id: "ready" for node in swarm_cluster.nodes.values()
    }
    assert {node["ID"]: node["Spec"]["Labels"] for node in shown} == {
        node.id: {"sbtui.region": node.region, "sbtui.cloud": node.cloud}
        for node in swarm_cluster.nodes.values()
    }
    # Each node has a hostname of its own, and is the one its own engine says it is.
    assert len({node["Description"]["Hostname"] for node in shown}) == 3
    for node in swarm_cluster.nodes.values():
        assert swarm_cluster.docker(node, "info", "--format", "{{.Swarm.NodeID}}") == node.id
    assert [node.name for node in swarm_cluster.nodes_with(region="us")] == ["worker-1", "worker-2"]
    assert [node.name for node in swarm_cluster.nodes_with(cloud="hetzner")] == ["manager"]


def test_a_service_constrained_to_each_node_runs_there(swarm_cluster: SwarmCluster):
    nodes = list(swarm_cluster.nodes.values())
    with ThreadPoolExecutor(len(nodes)) as pool:
        services = list(pool.map(lambda node: run_service(swarm_cluster, node.name), nodes))
    try:
        for node, service in zip(nodes, services):
            # Seen by the node's own engine, which runs it.
            container = wait_for(
                lambda: task_container(swarm_cluster, node.name, service),
                60,
                f"the service's task to run on {node.name}",
                0.1,
            )
            state = swarm_cluster.docker(node, "inspect", "--format", "{{.State.Status}}", container)
            assert state == "running"
            image = swarm_cluster.docker(node, "inspect", "--format", "{{.Config.Image}}", container)
            assert image.split("@")[0] == IMAGE
    finally:
        swarm_cluster.docker("manager", "service", "rm", *services)


def test_an_image_pushed_from_one_node_is_pulled_on_the_others(swarm_cluster: SwarmCluster, tmp_path):
    marker = secrets.token_hex(8)
    archive = tmp_path / "image.tar"
    docker_archive(archive, marker)
    loaded = swarm_cluster.docker("worker-1", "load", "--quiet", "--input", str(archive))
    ref = f"{swarm_cluster.registry}/sbtui/cluster-{marker}:v1"
    swarm_cluster.docker("worker-1", "tag", loaded.split()[-1], ref)
    swarm_cluster.docker("worker-1", "push", ref)
    try:
        for node in ("worker-2", "manager"):
            swarm_cluster.docker(node, "pull", ref)
            shown = swarm_cluster.docker(node, "run", "--rm", ref, "cat", "/marker")
            assert shown == marker, node
    finally:
        for node in ("worker-1", "worker-2", "manager"):  # a cluster brought up with `up` stays
            swarm_cluster.docker(node, "rmi", ref, check=False)


def run_service(cluster: SwarmCluster, node: str) -> str:
    """A one-replica service that only `node` may run (by its labels); its id."""
    labels = cluster.node(node).labels
    constraints = [
        arg for key, value in labels.items() for arg in ("--constraint", f"node.labels.{key}=={value}")
    ]
    return cluster.docker(
        "manager",
        "service",
        "create",
        "--detach",
        "--restart-condition",
        "none",
        "--stop-grace-period",
        "1s",
        *constraints,
        IMAGE,
        "sleep",
        "600",
    )


def task_container(cluster: SwarmCluster, node: str, service: str) -> str:
    """The id of the service's running task container on `node`'s own engine, if any."""
    return cluster.docker(
        node,
        "ps",
        "-q",
        "--filter",
        f"label=com.docker.swarm.service.id={service}",
        "--filter",
        "status=running",
    )


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_fault_helpers_lose_a_node_and_bring_it_back(swarm_cluster: SwarmCluster):
    swarm_cluster.kill_engine("worker-1")
    swarm_cluster.cut_network("worker-2")
    try:
        wait_for(
            lambda: (
                node_states(swarm_cluster) == {"manager": "ready", "worker-1": "down", "worker-2": "down"}
            ),
            60,
            "the manager to see both workers down",
            0.2,
        )
        engine = ["docker", "-H", swarm_cluster.engine_url("worker-1"), "version"]
        assert subprocess.run(engine, capture_output=True).returncode != 0
    finally:
        swarm_cluster.start_engine("worker-1")
        swarm_cluster.restore_network("worker-2")
    swarm_cluster.wait_ready()
    # A process in a worker's namespaces: its address and hostname, the cluster registry in reach.
    probe = swarm_cluster.run_in_node(
        "worker-2",
        [
            "sh",
            "-c",
            f"hostname; ip -4 -o addr show eth0; curl -sS --cacert {swarm_cluster.registry_ca('worker-2')} "
            f"https://{swarm_cluster.registry}/v2/",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out, _ = probe.communicate(timeout=30)
    assert probe.returncode == 0, out
    hostname, address, answer = out.splitlines()
    assert hostname == swarm_cluster.node("worker-2").hostname
    assert f" {swarm_cluster.address('worker-2')}/24 " in address
    assert answer == "{}"


def node_states(cluster: SwarmCluster) -> dict[str, str]:
    """Each node's state as the manager sees it: "ready", "down", ..."""
    listed = cluster.docker("manager", "node", "ls", "--format", "{{.ID}} {{.Status}}").splitlines()
    return {
        cluster.node(node_id).name: status.lower() for node_id, status in (line.split() for line in listed)
    }


def host_swarm_node() -> str:
    """The machine's own engine's node id in the swarm it is in ("" in none)."""
    info = ["docker", "info", "--format", "{{.Swarm.NodeID}}"]
    return subprocess.run(info, capture_output=True, text=True, check=True).stdout.strip()


def host_network_names() -> list[str]:
    """The networks a swarm adds to the machine's own engine that it has (its others come and go
    with the Docker tests running beside)."""
    listed = ["docker", "network", "ls", "--format", "{{.Name}}"]
    names = subprocess.run(listed, capture_output=True, text=True, check=True).stdout.split()
    return sorted(set(names) & {"docker_gwbridge", "ingress"})
