"""A real 3-node Docker Swarm on this one machine, for tests and benchmarks.

Each node, the manager and the two workers, is a dockerd of its own (tests/own_dockerd.py) in
network, mount and UTS namespaces of its own, kept for the cluster's life so that a node's engine
can be killed and started again as on a real machine: the manager's too, which the machine's
own dockerd could not be (the Docker half of the suite runs its containers there meanwhile).
The machine's dockerd is left alone. Every node is on a bridge of the cluster's own private /24
and reaches the cluster's registry (Debian's docker-registry, over TLS with a certificate the
engines are told to trust) on the host's address there. Nothing here contacts an address
outside loopback and that network.

    python -m tests.swarm_cluster up     # bring one up; its state is kept in STATE_FILE
    python -m tests.swarm_cluster down   # tear down the one STATE_FILE describes

Tests get one through the session fixture `swarm_cluster` (tests/conftest.py), which uses a
cluster already brought up with `up` and leaves it up, or else makes one and tears it down.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sbtui.server.runtime import busybox_image
from sbtui.server.runtime.docker import DockerRuntime
from tests import registry as registries
from tests.own_dockerd import OwnDockerd, _alive
from tests.servers import IMAGE, wait_for

STATE_FILE = Path("/tmp/sbtui-swarm-cluster.json")
# Everything the cluster uses is in this /16, which nothing else on the machine may use: the
# nodes' own /24, the swarm's overlay pool (its ingress network among them; swarm's default,
# 10.0.0.0/8, would cover it) and each node's docker0.
CLUSTER_RANGE = ipaddress.ip_network("10.231.0.0/16")
HOST_ADDRESS = "10.231.0.1"  # the host's end of the nodes' /24: the registry listens there
OVERLAY_POOL = "10.231.128.0/17"
SWARM_PORT = 2377  # where the manager takes its nodes' connections
BRIDGE = "sbtui-swarm0"
# The one rule it adds to the host's firewall, told apart by its comment.
FIREWALL_RULE = (
    f"DOCKER-USER -i {BRIDGE} -o {BRIDGE} -m comment --comment sbtui-swarm-cluster -j ACCEPT".split()
)
_SAVING = threading.Lock()
READY_TIMEOUT = 60  # seconds for the nodes to be Ready, each engine to answer, ...


@dataclass
class Node:
    """One node of the cluster, by the name tests use: "manager", "worker-1" or "worker-2"."""

    name: str
    address: str  # on the cluster's network
    engine_url: str
    region: str  # its sbtui.region label
    cloud: str  # its sbtui.cloud label
    hostname: str = ""  # as swarm shows it
    id: str = ""  # swarm's node id
    bridge: str = ""  # its docker0's address/prefix
    # Its namespaces, link and dockerd.
    netns: str = ""
    veth: str = ""  # the host end of its link
    root: str = ""  # its dockerd's folder (data, exec root, socket, /etc/docker)
    pid: int = 0  # its dockerd's

    @property
    def is_manager(self) -> bool:
        return self.name == "manager"

    @property
    def certs_d(self) -> Path:
        """Where its engine finds the CA of a registry HOST:PORT (its /etc/docker/certs.d)."""
        return Path(self.root) / "etc-docker" / "certs.d"

    @property
    def labels(self) -> dict[str, str]:
        return {"sbtui.region": self.region, "sbtui.cloud": self.cloud}


# The nodes: name, last byte of its address, region, cloud, third byte of its docker0's /24.
LAYOUT = [
    ("manager", 10, "eu", "hetzner", 3),
    ("worker-1", 11, "us", "aws", 1),
    ("worker-2", 12, "us", "gcp", 2),
]


def _run(*argv: str, timeout: float = 60, check: bool = True, input: bytes | None = None) -> str:
    done = subprocess.run(argv, capture_output=True, timeout=timeout, input=input)
    if check and done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode(errors='replace').strip()}"
        )
    return done.stdout.decode(errors="replace").strip()


def _succeeds(*argv: str) -> bool:
    return subprocess.run(argv, capture_output=True, timeout=60).returncode == 0


def _swarm_state(engine_url: str) -> tuple[str, str]:
    """(LocalNodeState, NodeID) of an engine: "inactive", "active", "pending", "error", ..."""
    out = _run("docker", "-H", engine_url, "info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.NodeID}}")
    state, _, node_id = out.partition(" ")
    return state, node_id.strip()


@dataclass
class SwarmCluster:
    """A 3-node swarm: `start()` makes it, `stop()` removes every trace of it."""

    nodes: dict[str, Node] = field(default_factory=dict)
    directory: str = ""  # everything of its own on disk
    registry: str = ""  # HOST:PORT of the cluster registry
    registry_pid: int = 0
    firewall_rule: bool = False
    startup_seconds: float = 0.0
    # The process that made it and tears it down when it ends (a test session); 0 for one
    # brought up with `python -m tests.swarm_cluster up`, which stays up until `down`.
    owner: int = 0

    # ---- what tests use ----------------------------------------------------------------

    @property
    def manager(self) -> Node:
        return self.nodes["manager"]

    @property
    def on_manager(self) -> dict:
        """Create arguments that place a sandbox on the manager (by its region, its own)."""
        return {"regions": [self.manager.region]}

    @property
    def workers(self) -> list[Node]:
        return [node for node in self.nodes.values() if not node.is_manager]

    def node(self, name_or_id: str) -> Node:
        for node in self.nodes.values():
            if name_or_id in (node.name, node.id, node.hostname):
                return node
        raise KeyError(f"no node {name_or_id!r} in the cluster (it has {', '.join(self.nodes)})")

    def nodes_with(self, region: str | None = None, cloud: str | None = None) -> list[Node]:
        """The nodes whose labels are these (None: any)."""
        return [
            node
            for node in self.nodes.values()
            if region in (None, node.region) and cloud in (None, node.cloud)
        ]

    def address(self, node: str | Node) -> str:
        return self._node(node).address

    def engine_url(self, node: str | Node) -> str:
        return self._node(node).engine_url

    def docker(
        self,
        node: str | Node,
        *args: str,
        timeout: float = 60,
        check: bool = True,
        input: bytes | None = None,
    ) -> str:
        """The docker CLI on a node's own engine; its output."""
        url = self._node(node).engine_url
        return _run("docker", "-H", url, *args, timeout=timeout, check=check, input=input)

    def entering(self, node: str | Node) -> list[str]:
        """The command prefix that runs a command as on `node`: in its network and UTS
        namespaces (its address, its hostname). Its files are the host's: the node's engine
        socket is at engine_url(node)."""
        found = self._node(node)
        return ["nsenter", f"--net=/run/netns/{found.netns}", f"--uts={self._ns_file(found, 'uts')}", "--"]

    def run_in_node(self, node: str | Node, argv: list[str], **popen_kwargs) -> subprocess.Popen:
        """A process in a node's namespaces (entering()), e.g. the node agent. The caller
        stops it."""
        return subprocess.Popen([*self.entering(node), *argv], **popen_kwargs)

    def cut_network(self, node: str | Node) -> None:
        """The node's link down: it can reach no node and no node can reach it."""
        _run("ip", "link", "set", self._node(node).veth, "down")

    def restore_network(self, node: str | Node) -> None:
        _run("ip", "link", "set", self._node(node).veth, "up")

    def hold_from_manager(self, worker: str | Node) -> None:
        """The worker's engine can't reach the manager's swarm port (refused): a worker cut off
        from the manager alone, or slow to report to one back from a restart. Everything else
        (the server, its agent among them) still reaches the node."""
        _run(*self.entering(self._worker(worker)), "iptables", "-I", *self._to_manager())

    def release_to_manager(self, worker: str | Node) -> None:
        argv = [*self.entering(self._worker(worker)), "iptables"]
        while _succeeds(*argv, "-C", *self._to_manager()):
            _run(*argv, "-D", *self._to_manager())

    def _to_manager(self) -> list[str]:
        """The rule, in a worker's namespace, that refuses its connections to the manager."""
        return ["OUTPUT", "-p", "tcp", "-d", self.manager.address, "--dport", str(SWARM_PORT), "-j", "REJECT"]

    def kill_engine(self, node: str | Node) -> None:
        """SIGKILL the node's dockerd by its pid, as a crash; its containers' processes stay
        until it starts again (swarm mode has no live restore: it then ends them)."""
        self._dockerd(self._node(node)).kill()

    def stop_engine(self, node: str | Node) -> None:
        """Stop the node's dockerd as a service manager does (SIGTERM): it stops its containers."""
        self._dockerd(self._node(node)).stop()

    def start_engine(self, node: str | Node) -> None:
        """Start the node's dockerd again (after kill_engine or stop_engine); it rejoins the
        swarm by itself (a manager takes its swarm up again), and returns once its engine
        answers."""
        node = self._node(node)
        dockerd = self._dockerd(node)
        if dockerd.running():
            return
        dockerd.start(READY_TIMEOUT)
        node.pid = dockerd.pid
        self._save()

    def rejoin(self, worker: str | Node) -> str:
        """The worker leaves the swarm, is removed from it and joins again, labelled as before:
        to the manager (and to a server) a node never seen, with a new id. Returns the old id."""
        node = self._worker(worker)
        old = node.id
        self.docker(node, "swarm", "leave", "--force")
        self.docker("manager", "node", "rm", "--force", old)
        self._join(node, self.docker("manager", "swarm", "join-token", "--quiet", "worker"))
        self._label(node)
        self._save()
        self.wait_ready()
        return old

    # ---- making it ------------------------------------------------------------------------

    def start(self) -> "SwarmCluster":
        started = time.monotonic()
        self._refuse_what_is_not_ours()
        self.owner = os.getpid()
        self.directory = tempfile.mkdtemp(prefix="sbtui-swarm-")
        for name, last, region, cloud, bridge in LAYOUT:
            root = Path(self.directory) / name
            self.nodes[name] = Node(
                name,
                f"10.231.0.{last}",
                f"unix://{root}/docker.sock",
                region,
                cloud,
                hostname=f"sbtui-{name}",
                bridge=f"10.231.{bridge}.1/24",
                netns=f"sbtui-swarm-{name}",
                veth=f"sbtsw-{name}",
                root=str(root),
            )
        self._save()  # from here on, `down` can undo whatever was made
        try:
            self._make_network()
            dockerds = {node.name: self._launch_engine(node) for node in self.nodes.values()}
            with ThreadPoolExecutor(4) as pool:
                registry = pool.submit(self._start_registry)
                dockerds["manager"].wait_ready(READY_TIMEOUT)
                image = pool.submit(self._ensure_image_on_manager)
                self._init_swarm()
                for dockerd in dockerds.values():
                    dockerd.wait_ready(READY_TIMEOUT)
                token = self.docker("manager", "swarm", "join-token", "-q", "worker")
                list(pool.map(lambda node: self._join(node, token), self.workers))
                image.result()
                list(pool.map(self._copy_image, self.workers))
                self.wait_ready()
                self._label_nodes()
                registry.result()
            self.startup_seconds = time.monotonic() - started
            self._save()
        except BaseException:
            self.stop()
            raise
        return self

    def _refuse_what_is_not_ours(self) -> None:
        if STATE_FILE.exists():
            raise RuntimeError(
                f"a test swarm cluster is already up here (its state: {STATE_FILE}): use it, or tear "
                "it down first with `python -m tests.swarm_cluster down`"
            )
        used = [
            line
            for line in _run("ip", "-o", "-4", "addr", "show").splitlines()
            + _run("ip", "-4", "route", "show", "table", "all").splitlines()
            if any(
                ipaddress.ip_network(word, strict=False).overlaps(CLUSTER_RANGE)
                for word in line.split()
                if _is_ipv4_network(word)
            )
        ]
        if used:
            raise RuntimeError(
                f"{CLUSTER_RANGE}, which the test swarm uses, is already in use on this machine:\n  "
                + "\n  ".join(used)
                + "\nremove what uses it (or a cluster left over: `python -m tests.swarm_cluster down`)"
            )

    def _make_network(self) -> None:
        _run("ip", "link", "add", BRIDGE, "type", "bridge")
        _run("ip", "addr", "add", f"{HOST_ADDRESS}/24", "dev", BRIDGE)
        _run("ip", "link", "set", BRIDGE, "up")
        # Frames between two nodes cross the host's bridge firewall (br_netfilter), whose
        # FORWARD policy Docker sets to DROP; DOCKER-USER is where Docker lets one allow them.
        _run("iptables", "-I", *FIREWALL_RULE)
        self.firewall_rule = True
        self._save()
        namespaces = Path(self.directory) / "ns"
        namespaces.mkdir()
        # A namespace kept by a bind mount of its file must not be in a mount that propagates
        # into that namespace: the folder becomes a private mount of its own.
        _run("mount", "--bind", str(namespaces), str(namespaces))
        _run("mount", "--make-private", str(namespaces))
        for node in self.nodes.values():
            node.certs_d.mkdir(parents=True)
            _run("ip", "netns", "add", node.netns)
            _run("ip", "link", "add", node.veth, "type", "veth", "peer", "name", "eth0", "netns", node.netns)
            _run("ip", "link", "set", node.veth, "master", BRIDGE, "up")
            inside = ("ip", "-n", node.netns)
            _run(*inside, "addr", "add", f"{node.address}/24", "dev", "eth0")
            _run(*inside, "link", "set", "eth0", "up")
            _run(*inside, "link", "set", "lo", "up")
            for kind in ("mnt", "uts"):
                self._ns_file(node, kind).touch()
            # Its own /run (pid files, containerd's state and sockets), its own /etc/docker (the
            # engine's key and the registry's CA in certs.d) and its own hostname, kept for the
            # cluster's life: a dockerd killed and started again finds its containerd state.
            root = Path(node.root)
            _run(
                "unshare",
                f"--mount={self._ns_file(node, 'mnt')}",
                f"--uts={self._ns_file(node, 'uts')}",
                "--propagation",
                "private",
                "sh",
                "-c",
                f"mount -t tmpfs tmpfs /run && mount --bind {root}/etc-docker /etc/docker "
                f"&& hostname {node.hostname}",
            )

    def _ns_file(self, node: Node, kind: str) -> Path:
        return Path(self.directory) / "ns" / f"{kind}-{node.name}"

    def _dockerd(self, node: Node) -> OwnDockerd:
        enter = [
            "nsenter",
            f"--net=/run/netns/{node.netns}",
            f"--mount={self._ns_file(node, 'mnt')}",
            f"--uts={self._ns_file(node, 'uts')}",
            "--",
        ]
        return OwnDockerd(
            root=Path(node.root),
            enter=enter,
            # Its containers' bridge; their cgroups apart from the host engine's, so that what
            # a killed engine leaves can be found and ended.
            network=[f"--bip={node.bridge}", f"--cgroup-parent=/sbtui-swarm-{node.name}"],
            known_pid=node.pid,
        )

    def _launch_engine(self, node: Node) -> OwnDockerd:
        dockerd = self._dockerd(node)
        dockerd.launch()
        node.pid = dockerd.pid
        self._save()
        return dockerd

    def _init_swarm(self) -> None:
        manager = self.manager
        listen = ["--advertise-addr", manager.address, "--listen-addr", f"{manager.address}:{SWARM_PORT}"]
        self.docker(manager, "swarm", "init", *listen, "--default-addr-pool", OVERLAY_POOL)
        manager.id = _swarm_state(manager.engine_url)[1]
        self._save()

    def _join(self, node: Node, token: str) -> None:
        listen = ["--advertise-addr", node.address, "--listen-addr", f"{node.address}:{SWARM_PORT}"]
        self.docker(node, "swarm", "join", "--token", token, *listen, f"{self.manager.address}:{SWARM_PORT}")
        node.id = _swarm_state(node.engine_url)[1]

    def wait_ready(self) -> None:
        """Wait until every node is Ready (after start_engine or restore_network, say)."""

        def ready() -> bool:
            out = self.docker("manager", "node", "ls", "--format", "{{.ID}} {{.Status}}")
            states = dict(line.split() for line in out.splitlines())
            return all(states.get(node.id) == "Ready" for node in self.nodes.values())

        wait_for(ready, READY_TIMEOUT, "the swarm's 3 nodes to be Ready", 0.1)

    def _label_nodes(self) -> None:
        for node in self.nodes.values():
            self._label(node)

    def _label(self, node: Node) -> None:
        adds = [arg for key, value in node.labels.items() for arg in ("--label-add", f"{key}={value}")]
        self.docker("manager", "node", "update", *adds, node.id)

    def _ensure_image_on_manager(self) -> None:
        """The test image on the manager's engine, as the sbtui server makes it."""

        async def ensure() -> None:
            runtime = DockerRuntime(self.manager.engine_url, "docker")
            try:
                await busybox_image.ensure(runtime)
            finally:
                await runtime.close()

        asyncio.run(ensure())

    def _copy_image(self, node: Node) -> None:
        """The manager's test image onto a worker's engine: same image, same id."""
        save = ["docker", "-H", self.manager.engine_url, "save", IMAGE]
        saved = subprocess.run(save, capture_output=True, check=True, timeout=60)
        self.docker(node, "load", "--quiet", input=saved.stdout)

    def _start_registry(self) -> None:
        directory = Path(self.directory) / "registry"
        directory.mkdir()
        registry = registries.start(HOST_ADDRESS, tls=True, directory=directory)
        self.registry, self.registry_pid = registry.host, registry.process.pid
        self._save()
        self.trust(registry.host, registry.ca)

    def trust(self, host: str, ca: Path) -> None:
        """Every node's engine trusts `ca` for the registry at `host` (HOST:PORT)."""
        for node in self.nodes.values():
            path = node.certs_d / host / "ca.crt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(ca.read_bytes())

    def distrust(self, host: str) -> None:
        for node in self.nodes.values():
            shutil.rmtree(node.certs_d / host, ignore_errors=True)

    def registry_ca(self, node: str | Node) -> Path:
        """The cluster registry's CA as a node's engine finds it."""
        return self._node(node).certs_d / self.registry / "ca.crt"

    # ---- removing it ---------------------------------------------------------------------

    def stop(self) -> None:
        """Tear everything down; each step is tried even when one before it failed, and what
        failed is raised at the end."""
        if not self.directory:
            return  # refused before making anything (STATE_FILE, if any, is another cluster's)
        failures: list[str] = []

        def step(what: str, action, *args) -> None:
            try:
                action(*args)
            except Exception as err:  # noqa: BLE001 (every step is tried; all failures are told)
                failures.append(f"{what}: {err}")

        # Links cut by cut_network up again: an engine stopping waits for the connections of
        # nodes it cannot reach.
        for node in self.nodes.values():
            if Path(f"/sys/class/net/{node.veth}").exists():
                step(f"restoring {node.name}'s link", self.restore_network, node)
        # The manager first: a worker's engine stopping while the manager is still up waits
        # out a 5 s timeout on its ingress network's release. No `swarm leave` anywhere: it
        # takes 5-6 s, and each engine's swarm state goes with its data root.
        if "manager" in self.nodes:
            step("stopping the manager", self._stop_node, self.manager)
        with ThreadPoolExecutor(len(self.workers) or 1) as pool:  # each stops its containers
            for node in self.workers:
                pool.submit(step, f"stopping {node.name}", self._stop_node, node)
        step("stopping the registry", self._stop_registry)
        for node in self.nodes.values():
            step(f"removing {node.name}'s namespaces", self._remove_namespaces, node)
        step("removing the network", self._remove_network)
        if self.directory and Path(self.directory).exists():
            step("removing the cluster's folder", shutil.rmtree, self.directory)
        if failures:
            raise RuntimeError(
                "the test swarm was not fully torn down (its state stays in "
                f"{STATE_FILE}; `python -m tests.swarm_cluster down` tries again):\n  "
                + "\n  ".join(failures)
            )
        STATE_FILE.unlink(missing_ok=True)

    def _stop_node(self, node: Node) -> None:
        dockerd = self._dockerd(node)
        if dockerd.running():
            dockerd.stop()  # it stops its containers
        # Whatever is left in its network namespace or its containers' cgroups (a node agent,
        # the containers of an engine that was killed, and their shims) is the cluster's:
        # ended by pid. Their mounts are in its mount namespace, which goes with its file.
        name = f"sbtui-swarm-{node.name}"
        left = {int(pid) for pid in _run("ip", "netns", "pids", node.netns, check=False).split()}
        left |= {int(pid) for pid in _cgroup_pids(name)}
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not any(_alive(pid) for pid in left), 30, f"what ran in {node.name} to end", 0.05)
        _remove_cgroups(name)

    def _registry_running(self) -> bool:
        """Whether its pid still is the cluster's registry (not a later process given that pid)."""
        pid = self.registry_pid
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes() if pid and _alive(pid) else b""
        except OSError:
            return False
        return b"docker-registry" in cmdline and self.directory.encode() in cmdline

    def _stop_registry(self) -> None:
        if self._registry_running():
            os.kill(self.registry_pid, signal.SIGTERM)
            wait_for(lambda: not _alive(self.registry_pid), 30, "the cluster registry to end", 0.05)

    def _remove_namespaces(self, node: Node) -> None:
        for kind in ("mnt", "uts"):
            path = self._ns_file(node, kind)
            if path.exists():
                _run("umount", str(path), check=False)
        if node.netns in _run("ip", "netns", "list").split():
            _run("ip", "netns", "del", node.netns)  # takes its end of the link with it

    def _remove_network(self) -> None:
        namespaces = Path(self.directory) / "ns" if self.directory else None
        if namespaces and _succeeds("mountpoint", "-q", str(namespaces)):
            _run("umount", str(namespaces))
        for node in self.nodes.values():
            if Path(f"/sys/class/net/{node.veth}").exists():
                _run("ip", "link", "del", node.veth)
        if Path(f"/sys/class/net/{BRIDGE}").exists():
            _run("ip", "link", "del", BRIDGE)
        if self.firewall_rule:
            while _succeeds("iptables", "-C", *FIREWALL_RULE):
                _run("iptables", "-D", *FIREWALL_RULE)

    def leftovers(self) -> list[str]:
        """What of this cluster is still on the machine: nothing once stop() has run."""
        found = []
        namespaces = [line.split()[0] for line in _run("ip", "netns", "list").splitlines()]
        for node in self.nodes.values():
            if node.netns in namespaces:
                found.append(f"network namespace {node.netns}")
            if Path(f"/sys/class/net/{node.veth}").exists():
                found.append(f"link {node.veth}")
            if node.pid and self._dockerd(node).running():
                found.append(f"{node.name}'s dockerd (pid {node.pid})")
            if _cgroup_dirs(f"sbtui-swarm-{node.name}"):
                found.append(f"cgroups sbtui-swarm-{node.name}")
        if Path(f"/sys/class/net/{BRIDGE}").exists():
            found.append(f"bridge {BRIDGE}")
        if _succeeds("iptables", "-C", *FIREWALL_RULE):
            found.append(f"firewall rule {' '.join(FIREWALL_RULE)}")
        if self._registry_running():
            found.append(f"the registry (pid {self.registry_pid})")
        if self.directory:
            if Path(self.directory).exists():
                found.append(f"folder {self.directory}")
            mounts = Path("/proc/self/mountinfo").read_text()
            found += [f"mount {line.split()[4]}" for line in mounts.splitlines() if self.directory in line]
        if STATE_FILE.exists():
            found.append(f"state file {STATE_FILE}")
        return found

    # ---- its state file -------------------------------------------------------------------

    def _save(self) -> None:
        with _SAVING:  # start() saves from several threads
            tmp = STATE_FILE.with_suffix(".tmp")
            tmp.write_text(json.dumps(asdict(self), indent=2))
            tmp.replace(STATE_FILE)

    @classmethod
    def load(cls) -> "SwarmCluster | None":
        """The cluster STATE_FILE describes, if any."""
        try:
            data = json.loads(STATE_FILE.read_text())
        except FileNotFoundError:
            return None
        nodes = {name: Node(**node) for name, node in data.pop("nodes").items()}
        return cls(nodes=nodes, **data)

    def owned_by_another_process(self) -> bool:
        """Made by a process still running (another test session), which tears it down when it
        ends: not one for this process to use."""
        return bool(self.owner) and self.owner != os.getpid() and _alive(self.owner)

    def _node(self, node: str | Node) -> Node:
        return node if isinstance(node, Node) else self.node(node)

    def _worker(self, node: str | Node) -> Node:
        found = self._node(node)
        if found.is_manager:
            raise ValueError(f"{found.name} is the swarm's only manager, not a worker; name a worker")
        return found


def _is_ipv4_network(word: str) -> bool:
    try:
        return ipaddress.ip_network(word, strict=False).version == 4
    except ValueError:
        return False


def _cgroup_dirs(name: str) -> list[Path]:
    """The folders of cgroup `name` in each hierarchy (cgroup v1) or the one tree (v2)."""
    root = Path("/sys/fs/cgroup")
    return [path for path in [root / name, *root.glob(f"*/{name}")] if path.is_dir()]


def _cgroup_pids(name: str) -> list[str]:
    pids = set()
    for top in _cgroup_dirs(name):
        for procs in top.rglob("cgroup.procs"):
            with contextlib.suppress(OSError):
                pids.update(procs.read_text().split())
    return sorted(pids)


def _remove_cgroups(name: str) -> None:
    def removed() -> bool:
        for top in _cgroup_dirs(name):
            deepest_first = sorted(
                (p for p in [top, *top.rglob("*")] if p.is_dir()), key=lambda p: -len(p.parts)
            )
            for path in deepest_first:
                with contextlib.suppress(OSError):
                    path.rmdir()
        return not _cgroup_dirs(name)

    wait_for(removed, 30, f"the cgroups {name} to be removed", 0.1)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "up":
        try:
            cluster = SwarmCluster().start()
        except RuntimeError as err:
            print(err, file=sys.stderr)
            return 1
        cluster.owner = 0  # it stays up after this process: `down` tears it down
        cluster._save()
        print(f"swarm cluster up in {cluster.startup_seconds:.1f} s; state in {STATE_FILE}")
        for node in cluster.nodes.values():
            print(f"  {node.name:9} {node.id}  {node.address:12} {node.engine_url}  {node.labels}")
        print(f"  registry  {cluster.registry}")
        return 0
    if command == "down":
        cluster = SwarmCluster.load()
        if cluster is None:
            print(f"no test swarm cluster is up here ({STATE_FILE} does not exist)")
            return 0
        if cluster.owned_by_another_process():
            owner = f"the test session's of pid {cluster.owner}"
            print(f"the test swarm cluster is {owner}, which tears it down as it ends", file=sys.stderr)
            return 1
        try:
            cluster.stop()
        except RuntimeError as err:
            print(err, file=sys.stderr)
            return 1
        print("swarm cluster torn down")
        return 0
    print("usage: python -m tests.swarm_cluster up|down", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
