"""sbtui on the test swarm (tests/swarm_cluster.py): a node agent on each node, with certificates
from one cluster CA that every test server on swarm shares (--cluster-ca), and the options such
a server is started with. The agents of a session listen on a port of its own (--agent-port):
sessions side by side on one cluster brought up beforehand each talk to their own agents."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sbtui.server.cluster_ca import ClusterCA
from tests.node_agents import AgentProcess, node_certs
from tests.swarm_cluster import SwarmCluster


@dataclass
class SwarmAgents:
    cluster: SwarmCluster
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="sbtui-swarm-agents-")))
    agents: dict[str, AgentProcess] = field(default_factory=dict)  # node name -> its agent
    port: int = 0

    @property
    def ca_dir(self) -> Path:
        return self.directory / "cluster-ca"

    def server_options(self) -> list[str]:
        """What `sbtui server --engine swarm` needs to run sandboxes on this cluster."""
        return [
            "--engine-url",
            self.cluster.manager.engine_url,
            "--registry",
            self.cluster.registry,
            "--cluster-ca",
            str(self.ca_dir),
            "--agent-port",
            str(self.port),
        ]

    def start(self) -> "SwarmAgents":
        ca = ClusterCA(self.directory, self.ca_dir)
        self.port = _free_port(self.cluster)
        for node in self.cluster.nodes.values():
            folder = self.directory / node.name
            folder.mkdir()
            # The certificate names the node as swarm does: its host name.
            node_certs(ca, node.hostname, folder / "certs", (node.address,))
            agent = AgentProcess(
                folder / "certs",
                node.engine_url,
                folder,
                listen=f"{node.address}:{self.port}",
                wrapper=self.cluster.entering(node),
            )
            self.agents[node.name] = agent.start()
        return self

    def restart(self, node: str) -> None:
        self.agents[node].stop()
        self.agents[node].start()

    def stop(self) -> None:
        for agent in self.agents.values():
            agent.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def _free_port(cluster: SwarmCluster) -> int:
    """A port free on the manager's address now, found there (each node has ports of its own);
    an agent that then can't have it on its node fails to start, saying so."""
    address = cluster.manager.address
    probe = f"import socket; s = socket.socket(); s.bind(({address!r}, 0)); print(s.getsockname()[1])"
    found = subprocess.run(
        [*cluster.entering(cluster.manager), sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return int(found.stdout)
