"""The embedded default: no address starts (or reuses) a private local daemon that outlives
its starter, keeps enforcing timeouts, exits when idle, and says what to install when no
engine is there."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import sbtui
from sbtui.client import ConnectionLostError, TerminationReason
from tests.servers import ROOT, STOP_WAIT, ServerProcess, available_engines, wait_for

STARTER = """
import asyncio, sbtui
async def main():
    async with sbtui.Client.connect() as client:
        app = await client.apps.from_name("embedded", create_if_missing=True)
        sb = await client.sandboxes.create(
            app, client.images.from_registry("localhost/sbtui/busybox:latest"), timeout=3)
        print(sb.sandbox_id, (await client.server_info()).pid)
asyncio.run(main())
"""


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


@pytest.fixture
def embedded_env(tmp_path, monkeypatch, engine):
    env = {
        "XDG_RUNTIME_DIR": str(tmp_path / "run"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "SBTUI_IDLE_EXIT": "2",
    }
    (tmp_path / "run").mkdir(mode=0o700)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SBTUI_SERVER", raising=False)
    monkeypatch.setenv("SBTUI_ENGINE", engine)
    started: list[int] = []
    yield env, started
    for pid in started:
        if not _gone(pid):
            os.kill(pid, signal.SIGTERM)
            wait_for(lambda: _gone(pid), STOP_WAIT, f"daemon {pid} to stop")
    # What the daemons left (their Podman service, sandboxes, images): as a test server's.
    ServerProcess(engine, tmp_path / "state" / "sbtui").dispose()


async def test_daemon_outlives_its_starter_enforces_timeouts_and_exits_when_idle(embedded_env, engine):
    env, started = embedded_env
    if engine == "docker" and not os.path.exists("/var/run/docker.sock"):
        pytest.skip("Docker is not running")
    if engine == "swarm":
        pytest.skip("the embedded server is not started on a swarm (test_no_embedded_server_on_a_swarm)")
    out = subprocess.run(
        [sys.executable, "-c", STARTER],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=dict(os.environ, **env),
    )
    assert out.returncode == 0, out.stderr
    sandbox_id, pid = out.stdout.split()
    started.append(int(pid))
    socket = Path(env["XDG_RUNTIME_DIR"]) / "sbtui" / "server.sock"
    assert stat.S_IMODE(socket.stat().st_mode) == 0o600
    assert not _gone(int(pid)), "the daemon must outlive the program that started it"
    async with sbtui.Client.connect() as client:
        info = await client.server_info()
        assert info.pid == int(pid) and info.engine == engine  # reused, not restarted
        sb = await client.sandboxes.from_id(sandbox_id)
        assert await sb.wait(raise_on_timeout=False) == 137
        assert (await sb.refresh()).termination_reason == TerminationReason.TIMEOUT
    wait_for(lambda: _gone(int(pid)), 30, "the idle daemon to exit by itself", 0.1)
    assert not socket.exists() or not _answers_now(socket)


def _answers_now(socket: Path) -> bool:
    import socket as sockets

    s = sockets.socket(sockets.AF_UNIX)
    try:
        s.connect(str(socket))
        return True
    except OSError:
        return False
    finally:
        s.close()


async def test_no_embedded_server_on_a_swarm(embedded_env, engine):
    """The embedded server is started with no options, and a swarm server needs the cluster's:
    the program that would start it is told to start one itself (the CLI's too)."""
    env, started = embedded_env
    if engine != "swarm":
        pytest.skip("the embedded server on this engine: test_daemon_outlives_its_starter...")
    for command in ([sys.executable, "-c", STARTER], [sys.executable, "-m", "sbtui", "sandbox", "list"]):
        out = subprocess.run(
            command, capture_output=True, text=True, timeout=120, cwd=ROOT, env=dict(os.environ, **env)
        )
        assert out.returncode != 0, out.stdout
        assert (
            "the local sbtui server could not start: sbtui server: error: the embedded local server "
            "runs on this machine's engine, and SBTUI_ENGINE=swarm names a cluster: start `sbtui "
            "server --engine swarm --registry HOST:PORT` (with the manager's --engine-url) yourself "
            "and point SBTUI_SERVER at it, or set SBTUI_ENGINE to auto, docker or podman"
        ) in " ".join(out.stderr.split())
    assert not (Path(env["XDG_STATE_HOME"]) / "sbtui" / "engine").exists(), "a refused daemon binds no state"


async def test_no_engine_says_what_to_install(embedded_env, monkeypatch, engine):
    if engine != "docker":
        pytest.skip("one engine is enough for this message")
    monkeypatch.setenv("SBTUI_ENGINE", "auto")
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(ConnectionLostError) as caught:
        await sbtui.Client.connect()
    message = str(caught.value)
    assert "could not start" in message
    assert "install Podman (apt-get install podman runc) or Docker" in message


async def test_another_engine_than_the_state_s_is_refused_with_how_to_choose(
    embedded_env, monkeypatch, engine
):
    """The local server's state is Podman's; with SBTUI_ENGINE=docker the next daemon refuses
    it, and the program that started it, the CLI's too, says why and how to choose."""
    env, started = embedded_env
    if engine != "podman" or "docker" not in available_engines():
        pytest.skip("one pair is enough: a state made with Podman, then Docker chosen")
    out = subprocess.run(
        [sys.executable, "-c", STARTER],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=dict(os.environ, **env),
    )
    assert out.returncode == 0, out.stderr
    pid = int(out.stdout.split()[1])
    started.append(pid)
    wait_for(lambda: _gone(pid), 30, "the Podman daemon to exit once idle", 0.1)
    monkeypatch.setenv("SBTUI_ENGINE", "docker")
    state = Path(env["XDG_STATE_HOME"]) / "sbtui"
    with pytest.raises(ConnectionLostError) as caught:
        await sbtui.Client.connect()
    message = str(caught.value)
    assert message.startswith("the local sbtui server could not start")
    assert f"the state in {state} belongs to podman" in message
    assert "XDG_STATE_HOME" in message and "--engine podman or SBTUI_ENGINE=podman" in message
    cli = subprocess.run(
        [sys.executable, "-m", "sbtui", "sandbox", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=dict(os.environ, **env),
    )
    assert cli.returncode == 4, cli.stdout + cli.stderr
    assert f"the state in {state} belongs to podman" in cli.stderr
