"""The engine state the server keeps and the restart backoff of the Podman service it runs."""

from __future__ import annotations

import pytest

from sbtui.proto import sandbox_pb2 as pb
from sbtui.server.engine_health import EngineHealth
from sbtui.server.runtime.base import EngineUnavailable
from sbtui.server.runtime.podman_service import backoff


def test_the_backoff_doubles_from_a_tenth_of_a_second_up_to_five():
    assert [backoff(n) for n in range(1, 10)] == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0]


def test_a_restart_is_one_loss_and_says_its_attempt_until_the_service_is_back():
    health = EngineHealth("podman")
    health.check()
    health.down("engine event stream broke")  # the stream may break before the death is seen
    health.restarting(1, "it was killed by SIGKILL")
    health.down("engine event stream broke")  # a restart under way says more, and stays
    health.restarting(2, "restart attempt 1 failed: podman system service exited with code 125")
    assert health.losses == 1
    assert health.state == pb.ENGINE_STATE_RESTARTING
    with pytest.raises(
        EngineUnavailable,
        match=r"podman is restarting \(attempt 2, last error: "
        r"restart attempt 1 failed",
    ):
        health.check()
    health.answering()  # the event stream is back: the restart still has its clean-up to do
    assert health.state == pb.ENGINE_STATE_RESTARTING
    health.restarted(4242)
    health.check()
    status = health.to_pb(admin=True)
    assert (status.state, status.attempt, status.restarts, status.service_pid) == (
        pb.ENGINE_STATE_OK,
        0,
        1,
        4242,
    )
    assert health.to_pb(admin=False).service_pid == 0


def test_an_engine_the_server_does_not_run_is_down_until_it_answers():
    health = EngineHealth("docker")
    health.down("Cannot connect to the engine")
    with pytest.raises(EngineUnavailable, match="docker does not answer"):
        health.check()
    health.answering()
    health.check()
    assert health.losses == 1 and health.restarts == 0
