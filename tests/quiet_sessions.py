"""Sessions that stay silent for minutes, on real servers, run beside the rest of the suite.

`python -m tests.quiet_sessions RESULT.json` starts, per engine, a server on its Unix socket and
one on TCP with TLS and a token; on each it opens an exec, a log follow and a watch that see
nothing for QUIET seconds, then end by themselves: the exec prints `done` and exits 0, the
sandbox's command prints `done` and exits (ending the follow), and the watch sees that exit.
Each session's outcome is written to RESULT.json, with what the client's gRPC printed on
stderr. tests/integration/test_quiet_sessions.py reads it: the conftest starts this at the
start of a run that selects that test, so ten silent minutes cost the suite no time. On the
swarm it runs apart, started once the test cluster and its agents are up (their options in
SBTUI_QUIET_SWARM_OPTIONS): there the exec and the follow are streams of a node's agent too.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sbtui
from sbtui.client import EventKind
from tests.servers import (
    ENGINE_OPTIONS,
    IMAGE,
    ROOT,
    ServerProcess,
    available_engines,
    new_state_dir,
    new_tls_server,
)
from tests.swarm_cluster import SwarmCluster

QUIET = float(os.environ.get("SBTUI_QUIET_SECONDS", "600"))
TOKEN = "tok-" + "quiet" * 8
# Where a test run keeps its QuietRuns (tests/conftest.py): the one of this machine's engines,
# and the swarm's.
QUIET_RUN = pytest.StashKey["QuietRun"]()
QUIET_SWARM_RUN = pytest.StashKey["QuietRun"]()
SWARM_OPTIONS = "SBTUI_QUIET_SWARM_OPTIONS"


def _servers(engine: str) -> dict[str, ServerProcess]:
    unix = ServerProcess(engine, new_state_dir(f"{engine}-quiet-unix"))
    return {"unix": unix, "tls": new_tls_server(engine, "quiet-tls", TOKEN)}


async def _timed(what, started: float) -> dict:
    """The outcome of one session: how it ended, and after how many seconds."""
    try:
        value = await what
    except Exception as err:  # noqa: BLE001 (the outcome is the result)
        return {"ok": False, "error": f"{type(err).__name__}: {err}", "after": time.monotonic() - started}
    return {"ok": True, "value": value, "after": time.monotonic() - started}


async def _exec(sb) -> str:
    p = await sb.exec(["sh", "-c", f"sleep {QUIET:.0f}; echo done"], text=True)
    out = await p.stdout.read()
    return f"exit {await p.wait()}, printed {out!r}"


async def _follow(sb) -> str:
    seen = b""
    async for chunk in sb.logs(follow=True):
        seen += chunk.data
    return f"ended, printed {seen.decode(errors='replace')!r}"


async def _watch(client, app_id: str, sandbox_id: str) -> str:
    async for event in client.sandboxes.watch(app_id=app_id, include_finished=False):
        if event.kind == EventKind.EXITED and event.sandbox and event.sandbox.sandbox_id == sandbox_id:
            return f"saw the exit (code {event.sandbox.exit_code})"
    return "ended without the exit"


async def _sessions(server: ServerProcess, transport: str) -> dict:
    token, ca = (TOKEN, server.ca) if transport == "tls" else (None, None)
    # On the swarm, on the manager: the suite's fault tests cut off and rejoin the workers.
    place = {}
    if server.engine == "swarm":
        cluster = SwarmCluster.load()
        assert cluster is not None, "no test swarm cluster is up"
        place = cluster.on_manager
    async with sbtui.Client.connect(server.address, token, ca_cert=ca) as client:
        app = await client.apps.from_name("quiet", create_if_missing=True)
        # The command outlives the exec by 10 s, so that the exec ends by itself.
        sb = await client.sandboxes.create(
            app,
            client.images.from_registry(IMAGE),
            timeout=QUIET + 300,
            command=["sh", "-c", f"sleep {QUIET + 10:.0f}; echo done"],
            **place,
        )
        started = time.monotonic()
        results = await asyncio.gather(
            _timed(_exec(sb), started),
            _timed(_follow(sb), started),
            _timed(_watch(client, app.app_id, sb.sandbox_id), started),
        )
        await sb.terminate()
        return dict(zip(("exec", "follow", "watch"), results))


class QuietRun:
    """This module's run in a process of its own, from the start of a test run."""

    def __init__(self, swarm_options: list[str] | None = None) -> None:
        """On this machine's engines; with `swarm_options` (a swarm server's), on the swarm."""
        self.directory = new_state_dir("quiet-run")
        self.out = self.directory / "result.json"
        self.log = self.directory / "run.log"
        env = dict(os.environ)
        if swarm_options is not None:
            env[SWARM_OPTIONS] = json.dumps(swarm_options)
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.quiet_sessions", str(self.out)],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
                env=env,
            )

    def results(self) -> dict:
        """The outcome of every session, once the run is over (QUIET seconds and the set-up)."""
        try:
            self.process.wait(QUIET + 300)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the quiet sessions did not end within {QUIET + 300} s") from None
        stderr = self.log.read_text(errors="replace")
        if self.process.returncode != 0 or not self.out.exists():
            raise AssertionError(f"the quiet sessions' run failed ({self.process.returncode}):\n{stderr}")
        return {**json.loads(self.out.read_text()), "stderr": stderr}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


async def main(out: Path) -> None:
    if SWARM_OPTIONS in os.environ:
        ENGINE_OPTIONS["swarm"] = json.loads(os.environ[SWARM_OPTIONS])
        engines = ["swarm"]
    else:
        engines = [engine for engine in available_engines() if engine != "swarm"]
    servers = {engine: _servers(engine) for engine in engines}
    try:
        for by_transport in servers.values():
            for server in by_transport.values():
                server.start()
        found = await asyncio.gather(
            *(
                _sessions(server, transport)
                for by_transport in servers.values()
                for transport, server in by_transport.items()
            )
        )
        keys = [(e, t) for e, by_transport in servers.items() for t in by_transport]
        results = {f"{e}-{t}": r for (e, t), r in zip(keys, found)}
    finally:
        for by_transport in servers.values():
            for server in by_transport.values():
                server.dispose()
    out.write_text(json.dumps({"quiet": QUIET, "results": results}, indent=1))


if __name__ == "__main__":
    # A stop by the test run ends the sessions and disposes of the servers (the finally above).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    asyncio.run(main(Path(sys.argv[1])))
