"""A swarm sandbox mounting volumes runs on the node holding them (each volume lives on one
node): the constraint SwarmKit gets, and why a create is refused when that node can't take it,
naming the volume, its node and what is wrong."""

from __future__ import annotations

from sbtui.server.runtime.swarm_tasks import Node, Placement

GiB = 2**30


def _nodes(**changes: dict) -> list[Node]:
    aws = {"sbtui.region": "us", "sbtui.cloud": "aws"}
    nodes = {
        "n-eu": Node("n-eu", "vm", "ready", "active", "10.0.0.1", {"sbtui.region": "eu"}, 2, 4 * GiB),
        "n-w1": Node("n-w1", "worker-1", "ready", "active", "10.0.0.11", aws, 2, 4 * GiB),
        "n-w2": Node("n-w2", "worker-2", "ready", "active", "10.0.0.12", {"sbtui.region": "us"}, 2, 4 * GiB),
    }
    for node_id, fields in changes.items():
        for key, value in fields.items():
            setattr(nodes[node_id.replace("_", "-")], key, value)
    return list(nodes.values())


def test_a_sandbox_of_volumes_is_held_to_their_node_beside_its_labels():
    placement = Placement(cloud="aws", volumes={"data": "n-w1", "cache": "n-w1"})
    assert placement.unmet(_nodes()) == ""
    assert placement.constraints(_nodes()) == ["node.id==n-w1", "node.labels.sbtui.cloud==aws"]
    assert Placement().constraints(_nodes()) == []


def test_volumes_of_two_nodes_are_refused_naming_each():
    said = Placement(volumes={"a": "n-w1", "b": "n-w2", "c": "n-w1"}).unmet(_nodes())
    assert said == (
        "its volumes are on different nodes ('a', 'c' on node worker-1; 'b' on node worker-2): "
        "a sandbox mounts volumes of one node only"
    )


def test_the_volumes_node_down_drained_or_gone_is_said():
    data = Placement(volumes={"data": "n-w1"})
    assert data.unmet(_nodes(n_w1={"state": "down"})) == (
        "volume 'data' lives on node worker-1, which is down; "
        "its sandboxes can run only there once it is back"
    )
    assert "which is set to drain; make it active again" in data.unmet(_nodes(n_w1={"availability": "drain"}))
    gone = [n for n in _nodes() if n.node_id != "n-w1"]
    assert data.unmet(gone) == (
        "volume 'data' lived on node n-w1, which has left the swarm: "
        "its data went with that node; delete the volume"
    )


def test_the_volumes_node_without_the_labels_or_room_asked_for_is_said():
    assert Placement(regions=["eu"], volumes={"data": "n-w1"}).unmet(_nodes()) == (
        "volume 'data' lives on node worker-1, which has region us, cloud aws, not sbtui.region in (eu)"
    )
    assert Placement(cpus=4, volumes={"data": "n-w1"}).unmet(_nodes()) == (
        "volume 'data' lives on node worker-1, which has no room for 4 CPUs and 0 MiB reserved "
        "(it has 2 CPUs and 4096 MiB)"
    )
