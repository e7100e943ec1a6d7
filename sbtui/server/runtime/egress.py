"""Egress allowlists: a sandbox may reach only the listed networks (and its own loopback).

The engines have no such setting, so the sandbox's network namespace belongs to a small
holder container, started first; its firewall is set from the host (nsenter + iptables-restore)
before the sandbox's own container joins that namespace, so the sandbox's command never runs
unrestricted. Replies to connections made into the sandbox (tunnels) stay allowed. On a cluster
the firewall is set by the node's agent, and the command waits behind a gate until then
(launcher.py).
"""

from __future__ import annotations

import asyncio
import ipaddress
import shutil

from sbtui.server.runtime.base import EngineError

# Docker's resolver on a user network: an address of the sandbox's own loopback where dockerd
# answers, and forwards what it doesn't know to the host's resolvers, a way out like any other.
ENGINE_RESOLVER = ipaddress.IPv4Network("127.0.0.11/32")


def ruleset(networks: list[str], version: int) -> bytes:
    """An iptables-restore ruleset allowing output to `networks` of that IP version only."""
    allowed = [ipaddress.ip_network(n, strict=False) for n in networks]
    allowed = [n for n in allowed if n.version == version]
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT DROP [0:0]"]
    if version == 4 and not any(
        isinstance(n, ipaddress.IPv4Network) and ENGINE_RESOLVER.subnet_of(n) for n in allowed
    ):
        lines += [
            f"-A OUTPUT -d {ENGINE_RESOLVER} -p tcp -j REJECT --reject-with tcp-reset",
            f"-A OUTPUT -d {ENGINE_RESOLVER} -j REJECT",
        ]
    lines += ["-A OUTPUT -o lo -j ACCEPT", "-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"]
    lines += [f"-A OUTPUT -d {network} -j ACCEPT" for network in allowed]
    # Refuse at once rather than let connections hang until they time out.
    lines += ["-A OUTPUT -p tcp -j REJECT --reject-with tcp-reset", "-A OUTPUT -j REJECT", "COMMIT", ""]
    return "\n".join(lines).encode()


async def apply(pid: int, networks: list[str]) -> None:
    """Set the allowlist in the network namespace of process `pid` (a host pid)."""
    for version, tool in ((4, "iptables-restore"), (6, "ip6tables-restore")):
        if shutil.which(tool) is None:
            raise EngineError(f"cidr_allowlist needs {tool} on the server's host: apt-get install iptables")
        process = await asyncio.create_subprocess_exec(
            "nsenter",
            f"--net=/proc/{pid}/ns/net",
            tool,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await process.communicate(ruleset(networks, version))
        if process.returncode == 0:
            continue
        if version == 6 and await _disable_ipv6(pid):
            continue  # no IPv6 firewall here: then no IPv6 at all in this namespace
        raise EngineError(f"could not set the network allowlist: {err.decode(errors='replace').strip()}")


async def _disable_ipv6(pid: int) -> bool:
    process = await asyncio.create_subprocess_exec(
        "nsenter",
        f"--net=/proc/{pid}/ns/net",
        "sysctl",
        "-q",
        "-w",
        "net.ipv6.conf.all.disable_ipv6=1",
        "net.ipv6.conf.default.disable_ipv6=1",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await process.wait() == 0
