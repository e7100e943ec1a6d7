"""A reachability matrix for block_network, cidr_allowlist and environments, made only of
addresses on this machine: each row a sandbox with one network policy, each column a listener
this test starts.

Columns:
- netns:   a TCP listener in a network namespace the test creates, joined to the host by a veth
           pair: a network that is neither the host nor the engine's bridge;
- gateway: the host itself, at the bridge gateway address the sandbox's default route uses;
- primary: the host itself, at the address of its default-route interface;
- alias:   the host itself, at a loopback alias the test adds (see below);
- dns:     a DNS server (UDP 53) on that alias: name resolution is fenced like the rest;
- sandbox: another sandbox the test created, on its environment's network (the rows' own);
- plain:   that sandbox's port declared in unencrypted_ports, at its container port;
- tls:     its port declared in encrypted_ports, at its container port: plain TCP in there, as
           the server terminates TLS and dials the container in plaintext, so reaching it skips
           the TLS its tunnel promises;
- elsewhere: a sandbox of another environment, on that environment's network.

Rows: no policy; block_network; cidr_allowlist of the namespace's /30, of the alias's /32, of
the other sandbox's /32, and of the environment network's subnet, which holds the gateway and
so allows the host at that one address; a sandbox of the other environment, no policy; and
cidr_allowlist of the elsewhere sandbox's /32, which no allowlist can open across environments.

The host listener binds 0.0.0.0 and answers with the address it was reached on, so an answer
names the column that gave it. The no-policy row must reach every column but elsewhere, which
the other environment's row reaches, so every "not reachable" cell below is the policy (or the
environment) at work and not a listener that was never reachable.

Why the loopback alias is 10.214.k.1/32 and not 127.77.0.1: inside a sandbox all of 127.0.0.0/8
is the sandbox's own loopback, so no sandbox (with or without a policy) can even address the
host's loopback, and a 127.x column would prove nothing about the allowlist. An alias from a
private test range on the host's `lo` is still an address of the host alone, on no bridge and
on no route out of the machine: allowing exactly it, and nothing else of the host, shows that
the allowlist tells the host's addresses apart instead of letting "the host" through whole.

On swarm the sandboxes run on the manager node, and "the host" of the columns is that node: a
network namespace of its own on this machine (tests/swarm_cluster.py), where the host
listeners run and the test's namespace is joined. The sandboxes' network there is an overlay
and their way out docker_gwbridge (see the test).

No traffic leaves the machine: every target is checked to be an address of the host, of the
namespace this test made, or of a sandbox on an engine network before anything connects.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import aiodocker
import pytest

from tests.engine_view import networks_of
from tests.servers import ROOT, wait_for

PORT, PLAIN, TLS = 7000, 7001, 7002  # the sandbox listener's ports: undeclared, unencrypted, encrypted
LISTEN = ["sh", "-c", " ".join(f"nc -ll -p {p} -e echo sandbox-{p} &" for p in (PORT, PLAIN, TLS)) + " wait"]
ELSEWHERE = ["nc", "-ll", "-p", str(PORT), "-e", "echo", "elsewhere-target"]
OTHER_ENVIRONMENT = "matrix-elsewhere"
NETNS_TOKEN = "netns-target"
DNS_NAME = "matrix.sbtui.test"
COLUMNS = ("netns", "gateway", "primary", "alias", "dns", "sandbox", "plain", "tls", "elsewhere")

# A TCP server for the namespace: answers every connection with a token, then closes it.
NETNS_SERVER = """
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(64)
while True:
    c, _ = s.accept()
    c.sendall(sys.argv[3].encode() + b"\\n")
    c.close()
"""


def _ip(*args: str, netns: str | None = None, check: bool = True) -> str:
    cmd = ["ip", *(["-n", netns] if netns else []), *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {result.stderr.strip()}")
    return result.stdout


@dataclass
class HostSide:
    """The host of the columns, where the rows' sandboxes run: this machine (netns None) for
    one engine; on the swarm the manager node, a network namespace of this machine's."""

    netns: str | None
    primary: str  # its address on its way out

    def ip(self, *args: str, check: bool = True) -> str:
        return _ip(*args, netns=self.netns, check=check)

    def entering(self) -> list[str]:
        """The prefix that runs a process there."""
        return ["ip", "netns", "exec", self.netns] if self.netns else []


def _host_networks(host: HostSide) -> list[ipaddress.IPv4Network]:
    """Every IPv4 network this machine and the host side have an address in or a route to."""
    found = []
    for side in {None, host.netns}:
        found += _networks(side)
    return found


def _networks(netns: str | None) -> list[ipaddress.IPv4Network]:
    found = []
    for line in _ip("-4", "-o", "addr", "show", netns=netns).splitlines():
        found.append(ipaddress.ip_interface(line.split()[3]).network)
    for line in _ip("-4", "route", "show", "table", "all", netns=netns).splitlines():
        first = line.split()[0] if line.split() else ""
        if first in ("local", "broadcast", "unreachable", "blackhole", "prohibit"):
            first = line.split()[1]
        if first != "default":
            try:
                found.append(ipaddress.ip_network(first, strict=False))
            except ValueError:
                pass
    return found


def _free_octet(host: HostSide) -> int:
    """A k for which 10.213.k.0/24 and 10.214.k.0/24 touch nothing the host already has."""
    used = _host_networks(host)
    start = os.getpid() % 200 + 20
    for k in list(range(start, 250)) + list(range(20, start)):
        candidates = [ipaddress.ip_network(f"10.213.{k}.0/24"), ipaddress.ip_network(f"10.214.{k}.0/24")]
        if not any(c.overlaps(u) for c in candidates for u in used):
            return k
    raise RuntimeError("no free 10.213.k.0/24 and 10.214.k.0/24 pair for the test networks")


def _route(address: str, host: HostSide) -> dict[str, str]:
    """`ip route get` as a dict: a lookup in the host's tables, nothing is sent."""
    words = host.ip("-4", "-o", "route", "get", address).split()
    info = {"type": "local" if words[0] == "local" else "unicast"}
    for key in ("dev", "via", "src"):
        if key in words:
            info[key] = words[words.index(key) + 1]
    return info


def _local_addresses(host: HostSide) -> dict[str, tuple[str, str]]:
    """The host's IPv4 addresses, each with its interface and the network it is in."""
    found = {}
    for line in host.ip("-4", "-o", "addr", "show").splitlines():
        dev, interface = line.split()[1], ipaddress.ip_interface(line.split()[3])
        found[str(interface.ip)] = (dev, str(interface.network))
    return found


def _primary_address() -> str:
    """The host's address on the interface of its default route (a lookup, nothing is sent)."""
    for line in _ip("-4", "-o", "route", "show", "default").splitlines():
        words = line.split()
        if "dev" in words:
            dev = words[words.index("dev") + 1]
            for addr in _ip("-4", "-o", "addr", "show", "dev", dev, "scope", "global").splitlines():
                return str(ipaddress.ip_interface(addr.split()[3]).ip)
    raise RuntimeError("this host has no IPv4 address on a default-route interface")


def _wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def _answers(netns: str, address: str, port: int, token: str) -> bool:
    """Whether the listener at address:port, in `netns`, answers with `token` there."""
    probe = (
        "import socket, sys\n"
        "with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1) as conn:\n"
        "    sys.exit(conn.makefile().readline().strip() != sys.argv[3])\n"
    )
    argv = ["ip", "netns", "exec", netns, sys.executable, "-c", probe, address, str(port), token]
    return subprocess.run(argv, capture_output=True, timeout=30).returncode == 0


@dataclass
class Lab:
    netns: str
    netns_address: str
    netns_range: str
    netns_port: int
    host_veth: str
    alias: str


@pytest.fixture(scope="module")
def host_side(server, request) -> HostSide:
    if server.engine != "swarm":
        return HostSide(None, _primary_address())
    manager = request.getfixturevalue("swarm_cluster").manager
    return HostSide(manager.netns, manager.address)  # a node's way out is its cluster address


@pytest.fixture(scope="module")
def lab(host_side):
    """A network namespace with a listener behind a veth pair to the host, and a loopback
    alias on the host; both removed at the end however the tests went."""
    if os.geteuid() != 0:
        pytest.fail("the reachability matrix creates a network namespace and interfaces: run as root")
    host = host_side
    k = _free_octet(host)
    tag = f"{os.getpid() % 100000}"
    netns, host_veth, ns_veth = f"sbtui-matrix-{tag}", f"sbm{tag}h", f"sbm{tag}n"
    lab = Lab(
        netns=netns,
        netns_address=f"10.213.{k}.2",
        netns_range=f"10.213.{k}.0/30",
        netns_port=7100,
        host_veth=host_veth,
        alias=f"10.214.{k}.1",
    )
    listener = None
    # What takes back each thing made, so only that is removed: in this machine's namespace
    # (None) or the host side's.
    undo: list[tuple[str | None, tuple[str, ...]]] = []
    try:
        _ip("netns", "add", netns)
        undo.append((None, ("netns", "del", netns)))
        host.ip("link", "add", host_veth, "type", "veth", "peer", "name", ns_veth, "netns", netns)
        undo.append((host.netns, ("link", "del", host_veth)))  # and with it its peer in the namespace
        host.ip("addr", "add", f"10.213.{k}.1/30", "dev", host_veth)
        host.ip("link", "set", host_veth, "up")
        _ip("addr", "add", f"{lab.netns_address}/30", "dev", ns_veth, netns=netns)
        _ip("link", "set", ns_veth, "up", netns=netns)
        _ip("link", "set", "lo", "up", netns=netns)
        # Answers go back by the host, whether or not the sandbox's traffic was masqueraded
        # on its way out (a swarm node's engine here sets no firewall rules).
        _ip("route", "add", "default", "via", f"10.213.{k}.1", netns=netns)
        host.ip("addr", "add", f"{lab.alias}/32", "dev", "lo")
        undo.append((host.netns, ("addr", "del", f"{lab.alias}/32", "dev", "lo")))
        listener = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                netns,
                sys.executable,
                "-c",
                NETNS_SERVER,
                lab.netns_address,
                str(lab.netns_port),
                NETNS_TOKEN,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

        def up() -> bool:
            if listener.poll() is not None:
                raise RuntimeError(f"the namespace listener exited: {listener.stderr.read().decode()}")
            return _answers(netns, lab.netns_address, lab.netns_port, NETNS_TOKEN)

        _wait_until(up, 20, "the listener in the test's network namespace")
        yield lab
    finally:
        if listener is not None and listener.poll() is None:
            listener.terminate()  # by its pid: the process this fixture started
            try:
                listener.wait(10)
            except subprocess.TimeoutExpired:
                listener.kill()
                listener.wait(10)
        for where, args in reversed(undo):
            _ip(*args, netns=where, check=False)


class _HostListener(asyncio.Protocol):
    """Answers with the local address the connection arrived on, then closes."""

    def connection_made(self, transport) -> None:
        transport.write(f"host {transport.get_extra_info('sockname')[0]}\n".encode())
        transport.close()


class _DnsServer(asyncio.DatagramProtocol):
    """Answers an A query for any name with `answer`, other query types with no records."""

    def __init__(self, answer: str) -> None:
        self.answer = answer

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        end = 12  # the question's name: length-prefixed labels up to a zero byte
        while end < len(data) and data[end]:
            end += data[end] + 1
        end += 5  # the zero byte, QTYPE and QCLASS
        if end > len(data):
            return
        question = data[12:end]
        qtype = struct.unpack(">H", data[end - 4 : end - 2])[0]
        answers = b""
        if qtype == 1:
            # A pointer to the question's name, type A, class IN, TTL 60, four bytes.
            answers = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(self.answer)
        header = data[:2] + struct.pack(">HHHHH", 0x8180, 1, 1 if answers else 0, 0, 0)
        self.transport.sendto(header + question + answers, addr)


def serve_host(alias: str) -> None:
    """The host's listeners, as a process of their own on the host side (host_port): a TCP
    listener on all of its addresses, whose port it prints, and a DNS server on the alias."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_HostListener, "0.0.0.0", 0)
        await loop.create_datagram_endpoint(
            lambda: _DnsServer(alias.rsplit(".", 1)[0] + ".53"), local_addr=(alias, 53)
        )
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


@pytest.fixture
def host_port(lab, host_side):
    """A TCP listener on all of the host's addresses (its port is the value), and a DNS server
    on the loopback alias; both ended at the end."""
    serve = (
        "import sys; from tests.integration.test_network_matrix import serve_host; serve_host(sys.argv[1])"
    )
    listener = subprocess.Popen(
        [*host_side.entering(), sys.executable, "-c", serve, lab.alias],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = _first_line(listener, 30)
        yield int(port)
    finally:
        listener.terminate()  # by its pid: the process this fixture started
        listener.wait(10)


def _first_line(process: subprocess.Popen, timeout: float) -> str:
    """The first line a process prints, read with a deadline; its stderr if it ends first."""
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)
    reader.start()
    wait_for(lambda: not reader.is_alive(), timeout, "the host listeners to start", 0.02)
    if not line[0]:
        raise RuntimeError(f"the host listeners exited: {process.stderr.read()}")
    return line[0].strip()


async def _run(sb, script: str) -> str:
    p = await sb.exec(["sh", "-c", script])
    out = await asyncio.wait_for(p.stdout.read(), 30)
    await asyncio.wait_for(p.wait(), 30)
    return out.decode()


async def _address(sb) -> str:
    out = await _run(sb, "ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1")
    return out.split()[0]


async def _listening(sb, ports: tuple[int, ...]) -> None:
    """Wait until the sandbox's own loopback answers on each port (its servers are up)."""
    deadline = time.monotonic() + 20
    probe = "; ".join(f"echo | nc -w 2 127.0.0.1 {port}" for port in ports)
    while len((await _run(sb, probe)).split()) < len(ports):
        assert time.monotonic() < deadline, "a target sandbox's listener did not come up"
        await asyncio.sleep(0.05)


async def _probe(sb, targets: dict[str, tuple[str, str, int]]) -> dict[str, str]:
    """Try every target at once from inside `sb`; each column's output (empty if nothing came)."""
    lines = []
    for column, (kind, address, port) in targets.items():
        if kind == "tcp":
            # -w 2: a dropped packet becomes a timeout, not a hang; timeout 5 bounds the rest.
            probe = f"echo ping | timeout 5 nc -w 2 {address} {port}"
        else:
            probe = f"timeout 5 nslookup {DNS_NAME} {address}"
        lines.append(f"({probe} > /tmp/matrix.{column} 2>/dev/null) &")
    lines.append("wait")
    lines += [f"echo '== {column}'; cat /tmp/matrix.{column}" for column in targets]
    out = await _run(sb, "\n".join(lines))
    found: dict[str, str] = {}
    column = ""
    for line in out.splitlines():
        if line.startswith("== "):
            column = line[3:]
            found[column] = ""
        else:
            found[column] += line + "\n"
    return found


def _table(rows: dict[str, dict[str, bool]]) -> str:
    width = max(len(r) for r in rows)
    lines = [" " * width + "  " + "  ".join(f"{c:>9}" for c in COLUMNS)]
    for row, cells in rows.items():
        lines.append(f"{row:<{width}}  " + "  ".join(f"{'yes' if cells[c] else '-':>9}" for c in COLUMNS))
    return "\n".join(lines)


async def _gateway(sb) -> str:
    route = (await _run(sb, "ip -4 route show default")).split()
    return route[route.index("via") + 1]


async def _overlay(server, sb) -> ipaddress.IPv4Network:
    """The subnet of the overlay network a swarm sandbox is on, as the manager has it."""
    _, (name,) = await networks_of(server, sb.sandbox_id)
    async with aiodocker.Docker(url=server.engine_url) as docker:
        config = (await docker._query_json(f"networks/{name}"))["IPAM"]["Config"]
    return ipaddress.ip_network(config[0]["Subnet"])


async def test_reachability_matrix(client, app, image, lab, host_port, host_side, server, one_node):
    # On swarm every sandbox runs on the manager, "the host" of the columns.
    def create(app, **kw):
        return client.sandboxes.create(app, image, timeout=120, **one_node, **kw)

    other_app = await client.apps.from_name(app.name, environment=OTHER_ENVIRONMENT, create_if_missing=True)
    target, elsewhere = await asyncio.gather(
        create(app, command=LISTEN, unencrypted_ports=[PLAIN], encrypted_ports=[TLS]),
        create(other_app, command=ELSEWHERE),
    )
    made = [target, elsewhere]
    try:
        open_sb, blocked, to_netns, to_alias, other_env = await asyncio.gather(
            create(app),
            create(app, block_network=True),
            create(app, cidr_allowlist=[lab.netns_range]),
            create(app, cidr_allowlist=[f"{lab.alias}/32"]),
            create(other_app),
        )
        made += [open_sb, blocked, to_netns, to_alias, other_env]
        await _listening(target, (PORT, PLAIN, TLS))
        await _listening(elsewhere, (PORT,))
        target_address, elsewhere_address = await _address(target), await _address(elsewhere)
        gateway, other_gateway = await _gateway(open_sb), await _gateway(other_env)
        local = _local_addresses(host_side)
        bridge_dev, bridge = local[gateway]  # the environment's network, gateway included
        other_dev, _ = local[other_gateway]
        # Every sandbox address is checked to be on its sandbox's network before anything is
        # sent to it. On one engine that is a bridge of this host's; on swarm an overlay the
        # host has no route to (its traffic between nodes stays in the test cluster's range),
        # and the gateway is docker_gwbridge's, which keeps its containers apart: allowing the
        # "bridge" there is allowing both.
        bridge_ranges = [bridge]
        if server.engine == "swarm":
            ours, theirs = await _overlay(server, target), await _overlay(server, elsewhere)
            assert ipaddress.ip_address(target_address) in ours, (target_address, ours)
            assert ipaddress.ip_address(elsewhere_address) in theirs, (elsewhere_address, theirs)
            bridge_ranges.append(str(ours))
        else:
            assert _route(target_address, host_side) == {
                "type": "unicast",
                "dev": bridge_dev,
                "src": gateway,
            }, f"{target_address} is not on the engine network of {gateway}"
            assert _route(elsewhere_address, host_side) == {
                "type": "unicast",
                "dev": other_dev,
                "src": other_gateway,
            }, f"{elsewhere_address} is not on the engine network of {other_gateway}"
        to_sandbox, to_bridge, to_elsewhere = await asyncio.gather(
            create(app, cidr_allowlist=[f"{target_address}/32"]),
            create(app, cidr_allowlist=bridge_ranges),
            create(app, cidr_allowlist=[f"{elsewhere_address}/32"]),
        )
        made += [to_sandbox, to_bridge, to_elsewhere]
        primary = host_side.primary
        targets = {
            "netns": ("tcp", lab.netns_address, lab.netns_port),
            "gateway": ("tcp", gateway, host_port),
            "primary": ("tcp", primary, host_port),
            "alias": ("tcp", lab.alias, host_port),
            "dns": ("udp", lab.alias, 53),
            "sandbox": ("tcp", target_address, PORT),
            "plain": ("tcp", target_address, PLAIN),
            "tls": ("tcp", target_address, TLS),
            "elsewhere": ("tcp", elsewhere_address, PORT),
        }
        # Every address is this machine's before anything is sent to it.
        assert {gateway, primary, lab.alias} <= local.keys(), (gateway, primary, lab.alias)
        assert len({gateway, primary, lab.alias}) == 3 and local[lab.alias][0] == "lo"
        assert _route(lab.netns_address, host_side)["dev"] == lab.host_veth
        assert lab.netns_address in _ip("-4", "-o", "addr", "show", netns=lab.netns)
        expected_answer = {
            "netns": NETNS_TOKEN,
            "gateway": f"host {gateway}",
            "primary": f"host {primary}",
            "alias": f"host {lab.alias}",
            "dns": lab.alias.rsplit(".", 1)[0] + ".53",
            "sandbox": f"sandbox-{PORT}",
            "plain": f"sandbox-{PLAIN}",
            "tls": f"sandbox-{TLS}",
            "elsewhere": "elsewhere-target",
        }

        rows = {
            "no policy": open_sb,
            "block_network": blocked,
            "allow netns range": to_netns,
            "allow the alias": to_alias,
            "allow the sandbox": to_sandbox,
            "allow the bridge": to_bridge,
            "other environment": other_env,
            "allow elsewhere": to_elsewhere,
        }
        results = await asyncio.gather(*(_probe(sb, targets) for sb in rows.values()))
        got = {row: {c: expected_answer[c] in out[c] for c in COLUMNS} for row, out in zip(rows, results)}
        target_ports = {"sandbox", "plain", "tls"}
        allowed = {
            "no policy": set(COLUMNS) - {"elsewhere"},
            "block_network": set(),
            "allow netns range": {"netns"},
            "allow the alias": {"alias", "dns"},
            "allow the sandbox": target_ports,
            # The bridge gateway is the host: allowing the bridge's subnet allows it too.
            "allow the bridge": {"gateway"} | target_ports,
            # The host is every environment's; the other environment's sandboxes are not.
            "other environment": set(COLUMNS) - target_ports,
            "allow elsewhere": set(),
        }
        want = {row: {c: c in allowed[row] for c in COLUMNS} for row in rows}
        assert got == want, (
            f"on {server.engine}, reached:\n{_table(got)}\nexpected:\n{_table(want)}\n"
            f"raw output: {dict(zip(rows, results))}"
        )
    finally:
        await asyncio.gather(*(sb.terminate() for sb in made), return_exceptions=True)
