"""A dockerd of a test's own, which the test may stop and start: stopping the machine's dockerd
would stop everyone else's containers.

It runs in network and mount namespaces of its own (unshare), with a tmpfs on /run so that its
containerd, pid files and sockets don't meet the machine's dockerd, and its own data root, exec
root and socket under a temporary folder. `ip netns exec` is not used: it remounts /sys, and
dockerd then finds no cgroup mounts. Stopped and started again, it finds its containers in its
data root, as a restarted dockerd does.
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


@dataclass
class OwnDockerd:
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="sbtui-dockerd-")))
    process: subprocess.Popen | None = None

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def pid(self) -> int:
        return self.process.pid if self.process else 0

    def start(self, timeout: float = 60) -> "OwnDockerd":
        dockerd = (
            f"exec dockerd --data-root {self.root}/data --exec-root {self.root}/exec "
            f"--pidfile {self.root}/docker.pid --host {self.url} --iptables=false "
            "--ip6tables=false --bridge none"
        )
        log = open(self.root / "dockerd.log", "ab")
        # unshare and sh exec what follows: the process started is dockerd itself.
        self.process = subprocess.Popen(
            [
                "unshare",
                "--net",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                f"mount -t tmpfs tmpfs /run && {dockerd}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()

        def up() -> bool:
            if self.process.poll() is not None:
                log_text = (self.root / "dockerd.log").read_text(errors="replace")
                # Its last words: a fatal message, or a panic with the stack that follows it.
                start = log_text.rfind("panic:")
                tail = log_text[start : start + 6000] if start >= 0 else log_text[-3000:]
                raise RuntimeError(f"dockerd exited with {self.process.returncode}:\n{tail}")
            return _answers(self.socket)

        wait_for(up, timeout, "the test's own dockerd to answer", 0.1)
        return self

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM, as a service manager stops dockerd: it stops its containers first."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout)

    def dispose(self) -> None:
        """Stop it and remove everything it kept: its containers, images and networks."""
        try:
            self.stop()
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)
