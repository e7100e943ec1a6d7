"""The swarm's node agents as the server reaches them: one client per node, made when first
needed, so a node that joins the swarm later is used without a restart.

An agent listens at its node's swarm address on AGENT_PORT, unless the node's label
`sbtui.agent` gives another HOST:PORT (set by the operator through the manager). Its
certificate must name the node's host name, as SwarmKit reports it.
"""

from __future__ import annotations

from sbtui.server.cluster_ca import Credentials
from sbtui.server.runtime.naming import AGENT_PORT, NODE_AGENT
from sbtui.server.runtime.node_client import NodeAgentClient
from sbtui.server.runtime.swarm_tasks import Node


def agent_address(node: Node, port: int = AGENT_PORT) -> str:
    return node.labels.get(NODE_AGENT) or f"{node.address}:{port}"


class NodeAgents:
    def __init__(self, credentials: Credentials, port: int = AGENT_PORT) -> None:
        self._credentials = credentials
        self._port = port
        self._clients: dict[str, NodeAgentClient] = {}  # node id -> its agent's client

    async def of(self, node: Node) -> NodeAgentClient:
        address = agent_address(node, self._port)
        client = self._clients.get(node.node_id)
        if client is not None and (client.address, client.node_name) == (address, node.name):
            return client
        if client is not None:  # the node moved, or was renamed: a client for where it is now
            await client.close()
        client = self._clients[node.node_id] = NodeAgentClient(address, node.name, self._credentials)
        return client

    async def forget(self, node_id: str) -> None:
        """Close the client of a node given up for lost: every exec session and connection
        through it ends now, with an error, rather than when pings find the node gone."""
        client = self._clients.pop(node_id, None)
        if client is not None:
            await client.close()

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
