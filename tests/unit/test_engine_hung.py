"""The suite's hung-engine probe (tests/servers.py engine_hung): after a failed test the suite
asks the test's engine to list its networks, and an engine that can't is hung, so the tests
after it on that engine fail at once instead of each waiting out its timeout. A deadlocked
dockerd accepts connections and never answers them: here a socket that does just that."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.servers import available_engines, engine_hung


def test_an_engine_that_takes_calls_and_never_answers_is_hung(tmp_path):
    path = tmp_path / "engine.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen()
    taken: list[socket.socket] = []
    stop = threading.Event()

    def take() -> None:  # accepts, reads what is asked, says nothing
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                taken.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        assert engine_hung(["docker", "--host", f"unix://{path}"], within=2)
        assert 2 <= time.monotonic() - started < 10
        assert taken, "the probe never reached the socket: it proved nothing"
    finally:
        stop.set()
        thread.join()
        for conn in taken:
            conn.close()
        listener.close()


def test_an_engine_that_answers_is_not_hung():
    if "docker" not in available_engines():
        pytest.skip("no Docker here to answer")
    assert not engine_hung(["docker"], within=20)
