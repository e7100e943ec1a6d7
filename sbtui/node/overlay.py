"""Vxlan interfaces that Docker 20.10 leaves in a node's own network namespace when its engine
is killed as it joins a task to an overlay network, cleared by the node's agent.

To join, the engine makes the network's vxlan interface (vx-<vni>-<network id>) in the node's
namespace, then moves it into the network's own namespace within milliseconds. Killed between
the two, it leaves the interface behind where it never looks again: every later join of that
network on the node then fails with "error creating vxlan interface: file exists" (a second
vxlan of one VNI in one namespace), and so does every sandbox of that network placed there,
until the interface is deleted. The engine keeps none there otherwise: one seen in two looks
SWEEP_INTERVAL apart is such a leftover.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("sbtui.node")

SWEEP_INTERVAL = 2.0  # seconds between looks


async def clear_stale_vxlans(interval: float = SWEEP_INTERVAL) -> None:
    """For as long as the agent runs: delete each of the engine's vxlan interfaces found in
    this process's network namespace (the node's) in two looks in a row."""
    seen: set[tuple[str, str]] = set()
    while True:
        try:
            now = await _vxlans()
        except OSError as err:  # no `ip`: said once, then nothing is swept
            log.warning("stale vxlan interfaces can't be cleared on this node: %s", err)
            return
        for index, name in sorted(now & seen):
            try:
                await _ip("link", "delete", name)
            except OSError as err:
                log.warning("could not delete the stale vxlan interface %s: %s", name, err)
                continue
            log.warning(
                "deleted the vxlan interface %s (index %s) a killed engine left in the node's "
                "namespace: joins of its network failed on it",
                name,
                index,
            )
        seen = now - seen  # one deleted now is not looked for again
        await asyncio.sleep(interval)


async def _vxlans() -> set[tuple[str, str]]:
    """(index, name) of the engine's vxlan interfaces in this namespace."""
    found = set()
    for line in (await _ip("-o", "link", "show", "type", "vxlan")).splitlines():
        fields = line.split(":", 2)
        if len(fields) == 3:
            name = fields[1].strip().split("@")[0]
            if name.startswith("vx-"):
                found.add((fields[0].strip(), name))
    return found


async def _ip(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        "ip", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, said = await process.communicate()
    if process.returncode != 0:
        raise OSError(f"ip {' '.join(args)}: {said.decode(errors='replace').strip()}")
    return out.decode(errors="replace")
