"""Quiet sessions live: an exec, a log follow and a watch that see nothing for ten minutes end
normally, over the Unix socket and over TLS, and gRPC prints nothing about it. The sessions run
in tests/quiet_sessions.py, started with the test run (tests/conftest.py); this checks them."""

from __future__ import annotations

import pytest

from tests.quiet_sessions import QUIET, QUIET_RUN, QUIET_SWARM_RUN, QuietRun
from tests.servers import ENGINE_OPTIONS

pytestmark = pytest.mark.engine


def _results(request, engine: str) -> dict:
    key = QUIET_SWARM_RUN if engine == "swarm" else QUIET_RUN
    run = request.config.stash.get(key, None)
    if run is None:  # selected by a way that skipped the collection hook
        run = request.config.stash[key] = QuietRun(ENGINE_OPTIONS["swarm"] if engine == "swarm" else None)
    return run.results()


@pytest.mark.timeout(QUIET + 600)
@pytest.mark.parametrize("transport", ["unix", "tls"])
def test_sessions_silent_for_ten_minutes_end_normally(request, engine, transport):
    found = _results(request, engine)["results"][f"{engine}-{transport}"]
    # Each ended by itself, after the quiet time, for the reason it should have.
    assert found["exec"] == {**found["exec"], "ok": True, "value": "exit 0, printed 'done\\n'"}
    assert found["follow"] == {**found["follow"], "ok": True, "value": "ended, printed 'done\\n'"}
    assert found["watch"] == {**found["watch"], "ok": True, "value": "saw the exit (code 0)"}
    for session in ("exec", "follow", "watch"):
        assert found[session]["after"] >= QUIET, (session, found[session])


@pytest.mark.timeout(QUIET + 600)
def test_grpc_printed_nothing_about_the_quiet_sessions(request, engine):
    stderr = _results(request, engine)["stderr"]
    assert "GOAWAY" not in stderr
    assert "too_many_pings" not in stderr
