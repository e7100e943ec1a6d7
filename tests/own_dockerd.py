"""A dockerd of a test's own, which the test may stop and start: stopping the machine's dockerd
would stop everyone else's containers.

It runs in network and mount namespaces of its own (unshare), with a tmpfs on /run so that its
containerd, pid files and sockets don't meet the machine's dockerd, and its own data root, exec
root and socket under a temporary folder. `ip netns exec` is not used: it remounts /sys, and
dockerd then finds no cgroup mounts. Stopped and started again, it finds its containers in its
data root, as a restarted dockerd does.

A swarm worker (tests/swarm_cluster.py) runs one in namespaces made beforehand and kept across
its restarts (`enter`: the nsenter that joins them), so that a dockerd killed and started again
finds its containerd state in /run, as on a machine whose dockerd crashed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers import wait_for


def _answers(path: Path) -> bool:
    """Whether a dockerd takes a connection on `path` and answers a ping."""
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(str(path))
            sock.sendall(b"GET /_ping HTTP/1.1\r\nHost: engine\r\nConnection: close\r\n\r\n")
            return b" 200 " in sock.recv(64)
    except OSError:
        return False


def _exists(pid: int) -> bool:
    """Whether `pid` is a process at all, a zombie included (as dockerd counts one)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, ended but not yet reaped by its parent, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@dataclass
class OwnDockerd:
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="sbtui-dockerd-")))
    process: subprocess.Popen | None = None
    # Namespaces made beforehand: the command that joins them (nsenter ...), /run already its own.
    # Empty: new network and mount namespaces of its own, made as it starts.
    enter: list[str] = field(default_factory=list)
    network: list[str] = field(default_factory=lambda: ["--bridge", "none"])  # its containers' network
    known_pid: int = 0  # the pid of one started by another process (python -m tests.swarm_cluster up)

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def pid(self) -> int:
        return self.process.pid if self.process else self.known_pid

    def running(self) -> bool:
        """Whether its pid still is this dockerd (not a later process given the same pid)."""
        if not self.pid or not _alive(self.pid):
            return False
        try:
            cmdline = Path(f"/proc/{self.pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return cmdline[0].endswith(b"dockerd") and f"--data-root={self.root}/data".encode() in cmdline

    def start(self, timeout: float = 60) -> "OwnDockerd":
        self.launch()
        self.wait_ready(timeout)
        return self

    def launch(self) -> None:
        """Start it without waiting (wait_ready waits): several start side by side."""
        if not self.running():
            # Left by one killed: dockerd refuses to start while the pid in it exists, and a
            # killed dockerd that is not our child stays a zombie until init reaps it.
            (self.root / "docker.pid").unlink(missing_ok=True)
        dockerd = (
            f"exec dockerd --data-root={self.root}/data --exec-root={self.root}/exec "
            f"--pidfile={self.root}/docker.pid --host={self.url} --iptables=false "
            f"--ip6tables=false {' '.join(self.network)}"
        )
        if self.enter:
            argv = [*self.enter, "sh", "-c", dockerd]
        else:
            new = ["unshare", "--net", "--mount", "--propagation", "private"]
            argv = [*new, "sh", "-c", f"mount -t tmpfs tmpfs /run && {dockerd}"]
        log = open(self.root / "dockerd.log", "ab")
        # nsenter, unshare and sh exec what follows: the process started is dockerd itself.
        self.process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
        log.close()

    def wait_ready(self, timeout: float = 60) -> None:
        def up() -> bool:
            if self.process.poll() is not None:
                log_text = (self.root / "dockerd.log").read_text(errors="replace")
                # Its last words: a fatal message, or a panic with the stack that follows it.
                start = log_text.rfind("panic:")
                tail = log_text[start : start + 6000] if start >= 0 else log_text[-3000:]
                raise RuntimeError(f"dockerd exited with {self.process.returncode}:\n{tail}")
            return _answers(self.socket)

        wait_for(up, timeout, f"the dockerd in {self.root} to answer", 0.05)

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM, as a service manager stops dockerd: it stops its containers first."""
        self._signal(signal.SIGTERM, timeout)

    def kill(self, timeout: float = 30) -> None:
        """SIGKILL, as a crash: its containerd goes with it (dockerd makes it so), its
        containers' shims stay."""
        self._signal(signal.SIGKILL, timeout)

    def freeze(self) -> None:
        """SIGSTOP it by its pid: the kernel still takes connections for it and it answers
        none of them, as a deadlocked dockerd does (its containers run on)."""
        os.kill(self.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def _signal(self, sig: int, timeout: float) -> None:
        if not self.running():
            return
        containerd = self._containerd()
        os.kill(self.pid, sig)
        if self.process is not None:
            self.process.wait(timeout)
        else:  # not our child: its parent (or init) reaps it
            wait_for(lambda: not _alive(self.pid), timeout, f"dockerd {self.pid} to end", 0.05)
        if containerd:
            # Its containerd ends with it, a moment later. A dockerd started before that finds
            # it "still running", waits for its socket, which is gone, and gives up.
            wait_for(lambda: not _exists(containerd), timeout, f"containerd {containerd} to end", 0.05)

    def _containerd(self) -> int:
        """The pid of the containerd this dockerd started, if it runs."""
        try:
            pid = int((self.root / "exec" / "containerd" / "containerd.pid").read_text())
            return pid if Path(f"/proc/{pid}/comm").read_text().strip() == "containerd" else 0
        except (OSError, ValueError):
            return 0

    def dispose(self) -> None:
        """Stop it and remove everything it kept: its containers, images and networks."""
        if self.running():
            self.thaw()  # a frozen one would take its SIGTERM only once thawed
        try:
            self.stop()
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)
