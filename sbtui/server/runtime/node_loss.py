"""Which of the swarm's nodes have lost their sandboxes, and which can be dialled.

The manager's word `unknown` is not enough. A manager that has just started again calls every
other node unknown until that node's engine reports to it (for up to 30 s, then down), which
on a loaded cluster takes longer than NODE_LOST_AFTER, though those nodes and their sandboxes
run on all along. So a node the manager can't hear from is asked through its agent, every
ASK_EVERY, whether its engine answers: a yes lets calls reach the node, and keeps a node the
manager has not given up (UNDECIDED) for NODE_LOST_AFTER more. A node is lost once the manager
has not heard from it for NODE_LOST_AFTER and either its agent has not either (its engine
killed: the agent says the engine does not answer; its network cut: no answer) or the manager
has called it down: SwarmKit then shuts its tasks down as soon as it is back.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sbtui.server.background import Background
from sbtui.server.runtime.base import EngineError
from sbtui.server.runtime.node_agents import NodeAgents
from sbtui.server.runtime.swarm_tasks import NODE_GONE, Node

log = logging.getLogger("sbtui.server.runtime")

# A node lost for this long has lost its sandboxes (SwarmKit says "down" after missing its
# heartbeats, 5 s apart).
NODE_LOST_AFTER = 5.0
ASK_EVERY = 1.0  # seconds between questions to the agent of a node the manager can't hear
ASK_TIMEOUT = 2.0  # an agent that has not answered by then is not heard
# What the manager calls a node it can't hear from and has not given up yet.
UNDECIDED = {"unknown", "disconnected"}


class NodeLoss:
    def __init__(self, agents: NodeAgents, background: Background) -> None:
        self._agents = agents
        self._background = background
        self._gone_since: dict[str, float] = {}  # node id -> since when the manager can't hear it
        self._answered: dict[str, float] = {}  # node id -> when its agent last said its engine answers
        self._asking: set[str] = set()  # node ids whose agent is being asked
        self._wanted: dict[str, float] = {}  # node id -> when its state was last wanted (asked on)
        self._given_up: set[str] = set()  # nodes lost, whose agent clients are closed

    def lost(self, node_id: str, where: Node | None) -> bool:
        """Whether the node holding a running task has been lost long enough to give it up
        (`where`: the node as the manager lists it; None once it has left the swarm)."""
        if where is not None and where.state not in NODE_GONE:
            self._back(node_id)
            return False
        now = time.monotonic()
        since = self._gone_since.setdefault(node_id, now)
        if where is not None:
            self._ask(where)
        if now - since < NODE_LOST_AFTER or (
            where is not None and where.state in UNDECIDED and self._heard_lately(node_id)
        ):
            return False
        if node_id not in self._given_up:
            self._given_up.add(node_id)
            if where is None:
                why = "gone from the swarm"
            elif where.state in UNDECIDED:
                why = f"{where.state} to the manager for {now - since:.0f} s, and its agent does not answer"
            else:
                why = f"{where.state} for {now - since:.0f} s: the manager ends its tasks once it is back"
            log.warning("node %s lost (%s): its sandboxes end", where.name if where else node_id[:12], why)
            self._background.spawn(self._agents.forget(node_id))
        return True

    async def reachable(self, where: Node) -> bool:
        """Whether a call to the node's agent is worth making: the manager hears from the
        node, or its agent answers (asked now, for at most ASK_TIMEOUT, if it has not
        lately). Any other node is not dialled, as a call to one cut off would wait until
        TCP gives up."""
        if where.state not in NODE_GONE:
            self._back(where.node_id)
            return True
        self._gone_since.setdefault(where.node_id, time.monotonic())
        self._ask(where)
        if not self._heard_lately(where.node_id) and where.node_id not in self._given_up:
            await self._ask_once(where)
        return self._heard_lately(where.node_id)

    def _heard_lately(self, node_id: str) -> bool:
        answered = self._answered.get(node_id)
        return answered is not None and time.monotonic() - answered < NODE_LOST_AFTER

    def _back(self, node_id: str) -> None:
        """The manager hears from the node again (or no one asks after it): a later outage
        counts from its own start, and a node given up is asked after again."""
        self._gone_since.pop(node_id, None)
        self._answered.pop(node_id, None)
        self._given_up.discard(node_id)

    def _ask(self, where: Node) -> None:
        """Ask the node's agent, every ASK_EVERY, for as long as the node is gone, not given up,
        and its state is wanted (lost() or reachable() called for it within NODE_LOST_AFTER)."""
        self._wanted[where.node_id] = time.monotonic()
        if where.node_id not in self._asking and where.node_id not in self._given_up:
            self._asking.add(where.node_id)
            self._background.spawn(self._ask_while_gone(where))

    async def _ask_while_gone(self, where: Node) -> None:
        node_id = where.node_id
        try:
            while node_id in self._gone_since and node_id not in self._given_up:
                if time.monotonic() - self._wanted[node_id] > NODE_LOST_AFTER:
                    self._back(node_id)  # unwatched
                    return
                await self._ask_once(where)
                await asyncio.sleep(ASK_EVERY)
        finally:
            self._asking.discard(node_id)

    async def _ask_once(self, where: Node) -> None:
        try:
            async with asyncio.timeout(ASK_TIMEOUT):
                await (await self._agents.of(where)).info()
            self._answered[where.node_id] = time.monotonic()
        except (EngineError, TimeoutError):
            pass
