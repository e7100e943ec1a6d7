"""One engine per state directory: a server keeps to the engine its state was made with.

The automatic choice keeps the recorded engine even when the other one answers (Docker started
after Podman), and fails saying how to choose when the recorded one is not there; an explicit
other engine is refused. So a sandbox running on the first engine is never listed finished or
lost by a server on the second, and its timeout stays enforced.

The machine's dockerd is shared and can't be stopped: "Docker is not there" is a server run in
a mount namespace of its own where /var/run/docker.sock is /dev/null.
"""

from __future__ import annotations

import shutil

import pytest

import sbtui
from sbtui.client import SandboxState, TerminationReason
from tests.servers import IMAGE, ServerProcess, available_engines, new_state_dir, remove_what_it_made

both_engines = pytest.mark.skipif(
    not {"podman", "docker"} <= set(available_engines()), reason="needs both Podman and Docker"
)

DOCKER_SOCKET = "/var/run/docker.sock"
WITHOUT_DOCKER = [  # runs a command where Docker's socket answers nothing
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    'mount --bind /dev/null "$0" && exec "$@"',
    DOCKER_SOCKET,
]


class Servers:
    """Servers on one state directory, one after the other; at the end each is stopped and
    what any of them made, on either engine, is removed."""

    def __init__(self) -> None:
        self.state_dir = new_state_dir("state-engine")
        self.started: list[ServerProcess] = []

    def server(self, engine: str, **options) -> ServerProcess:
        server = ServerProcess(engine, self.state_dir, **options)
        self.started.append(server)
        return server

    def start(self, engine: str, **options) -> ServerProcess:
        return self.server(engine, **options).start()

    def refusal(self, engine: str, **options) -> str:
        """What a server that must not start on this state says as it exits."""
        server = self.server(engine, **options)
        try:
            server.start()
        except RuntimeError as err:
            return " ".join(str(err).split())  # the message, whatever the terminal's width
        pytest.fail(
            f"a server with --engine {server.choice or engine} started on a state "
            f"made with another engine; it serves on {server.address}"
        )

    def close(self) -> None:
        for server in self.started:
            server.stop()
        ServerProcess("podman", self.state_dir).stop_engine_service()
        if (self.state_dir / "server-id").exists():
            server_id = (self.state_dir / "server-id").read_text().strip()
            for engine in ("podman", "docker", *{s.engine for s in self.started} & {"swarm"}):
                remove_what_it_made(engine, server_id)
        shutil.rmtree(self.state_dir, ignore_errors=True)


@pytest.fixture
def servers():
    made = Servers()
    yield made
    made.close()


async def _sandbox_on(server: ServerProcess, timeout: int) -> str:
    async with sbtui.Client.connect(server.address) as client:
        app = await client.apps.from_name("state-engine", create_if_missing=True)
        sandbox = await client.sandboxes.create(app, client.images.from_registry(IMAGE), timeout=timeout)
        return sandbox.sandbox_id


async def _still_running(server: ServerProcess, sandbox_id: str) -> None:
    async with sbtui.Client.connect(server.address) as client:
        info = await (await client.sandboxes.from_id(sandbox_id)).refresh()
        assert info.state == SandboxState.RUNNING, (
            f"the sandbox is listed {info.state} ({info.termination_reason}) by a server on "
            f"{(await client.server_info()).engine}, while it runs on {server.engine}"
        )


@both_engines
async def test_the_automatic_choice_keeps_the_engine_the_state_was_made_with(servers):
    made = servers.start("podman")
    sandbox_id = await _sandbox_on(made, timeout=30)
    made.stop()  # the sandbox runs on, on Podman
    auto = servers.start("podman", choice="auto")  # Docker answers on this machine
    await _still_running(auto, sandbox_id)
    async with sbtui.Client.connect(auto.address) as client:
        assert (await client.server_info()).engine == "podman"
        base = [image.image_id for image in await client.images.list() if image.tag == IMAGE]
        assert len(base) == 1, f"the base image is listed {len(base)} times: {base}"
        sandbox = await client.sandboxes.from_id(sandbox_id)
        assert await sandbox.wait(raise_on_timeout=False) == 137
        assert (await sandbox.refresh()).termination_reason == TerminationReason.TIMEOUT
    assert (servers.state_dir / "engine").read_text().strip() == "podman"


@both_engines
@pytest.mark.parametrize("made_with, chosen", [("podman", "docker"), ("docker", "podman")])
async def test_an_explicit_other_engine_is_refused_and_marks_nothing(servers, made_with, chosen):
    made = servers.start(made_with)
    sandbox_id = await _sandbox_on(made, timeout=600)
    made.stop()
    message = servers.refusal(chosen)
    assert f"the state in {servers.state_dir} belongs to {made_with}" in message
    assert "--state-dir" in message and "XDG_STATE_HOME" in message
    assert f"--engine {made_with} or SBTUI_ENGINE={made_with}" in message
    await _still_running(servers.start(made_with), sandbox_id)


@both_engines
async def test_the_automatic_choice_refuses_when_the_recorded_engine_is_not_there(servers):
    made = servers.start("docker")
    sandbox_id = await _sandbox_on(made, timeout=600)
    made.stop()
    message = servers.refusal("docker", choice="auto", wrapper=WITHOUT_DOCKER)  # Podman is there
    assert f"the state in {servers.state_dir} belongs to docker" in message
    assert f"Docker does not answer at {DOCKER_SOCKET}" in message
    assert "Start docker to go on with this state" in message
    assert "(--engine or SBTUI_ENGINE)" in message and "--state-dir" in message
    await _still_running(servers.start("docker"), sandbox_id)


@both_engines
async def test_a_state_from_before_the_record_binds_to_the_engine_of_its_running_sandboxes(servers):
    made = servers.start("podman")
    sandbox_id = await _sandbox_on(made, timeout=600)
    made.stop()
    # As servers left a state before they recorded its engine (they wrote no such file).
    (servers.state_dir / "engine").unlink(missing_ok=True)
    message = servers.refusal("docker")
    assert "none of the 1 sandboxes it holds as running is on docker" in message
    assert "choose podman (--engine podman or SBTUI_ENGINE=podman)" in message
    assert not (servers.state_dir / "engine").exists()
    # Docker answers, yet the automatic choice takes the engine the sandbox runs on.
    await _still_running(servers.start("podman", choice="auto"), sandbox_id)
    assert (servers.state_dir / "engine").read_text().strip() == "podman"


@pytest.mark.swarm
@pytest.mark.skipif("swarm" not in available_engines(), reason="needs the test swarm (SBTUI_TEST_ENGINES)")
async def test_a_swarm_state_keeps_to_the_swarm(servers, swarm_agents):
    """The swarm's manager is a Docker engine, and the containers of the tasks it runs carry the
    server's labels: a server on it as one engine would take the sandboxes (services) for lost."""
    made = servers.start("swarm")
    sandbox_id = await _sandbox_on(made, timeout=600)
    made.stop()  # the sandbox's service runs on
    message = servers.refusal("docker")
    assert f"the state in {servers.state_dir} belongs to swarm" in message
    assert "--engine swarm or SBTUI_ENGINE=swarm" in message
    # The automatic choice keeps to the swarm, and says what it lacks to reach it (a swarm is
    # not an engine of this machine to start).
    message = servers.refusal("docker", choice="auto")
    assert f"the state in {servers.state_dir} belongs to swarm" in message
    assert "the swarm is not reached: the swarm runtime needs the cluster registry" in message
    assert "--registry HOST:PORT. Give --engine swarm with the cluster's options" in message
    await _still_running(servers.start("swarm"), sandbox_id)
    assert (servers.state_dir / "engine").read_text().strip() == "swarm"
