"""Real node agents for tests: `sbtui node` processes on 127.0.0.1 with certificates from a
real cluster CA, on a local engine."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sbtui.server.cluster_ca import ClusterCA, write_node_files
from tests.servers import ROOT, wait_for

_LISTENING = re.compile(rb"sbtui node (\S+) listening on (\S+)")


def node_certs(ca: ClusterCA, name: str, out: Path, addresses: tuple[str, ...] = ("127.0.0.1",)) -> Path:
    """Write the certificate files of node `name` into `out`; returns `out`."""
    write_node_files(ca.issue_node(name, addresses), out)
    return out


@dataclass
class AgentProcess:
    certs: Path
    engine_url: str
    log_dir: Path
    extra: list[str] = field(default_factory=list)
    listen: str = "127.0.0.1:0"
    wrapper: list[str] = field(default_factory=list)  # a command it runs under (a node's namespaces)
    process: subprocess.Popen | None = None
    address: str = ""

    @property
    def output(self) -> Path:
        return self.log_dir / "agent-out.log"

    @property
    def errors(self) -> Path:
        return self.log_dir / "agent-err.log"

    def command(self) -> list[str]:
        return [
            *self.wrapper,
            sys.executable,
            "-m",
            "sbtui",
            "node",
            "--listen",
            self.listen,
            "--certs",
            str(self.certs),
            "--engine-url",
            self.engine_url,
            *self.extra,
        ]

    def start(self, timeout: float = 30) -> "AgentProcess":
        with open(self.output, "wb") as out, open(self.errors, "wb") as err:
            self.process = subprocess.Popen(
                self.command(), stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=ROOT
            )

        def listening():
            if self.process.poll() is not None:
                raise RuntimeError(f"the agent exited: {self.errors.read_text()}")
            return _LISTENING.search(self.output.read_bytes())

        self.address = wait_for(listening, timeout, "the node agent to listen").group(2).decode()
        return self

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM by pid and wait; kill -9 only past `timeout`. Returns the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode
