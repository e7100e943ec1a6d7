"""`sbtui` with no verb: the dashboard in a real pseudo-terminal, on a real server."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time

import pytest

from tests.servers import ROOT
from tests.tui.pty_dashboard import dashboard_on_a_pty, read_until

pytestmark = pytest.mark.engine


async def test_sbtui_without_a_verb_opens_the_dashboard_and_q_quits(server, client, app, image):
    sb = await client.sandboxes.create(app, image, timeout=120)
    try:
        with dashboard_on_a_pty(server.address, "--readonly") as (main, proc):
            seen = read_until(main, sb.sandbox_id.encode(), 30)
            assert b"read-only" in seen
            os.write(main, b"q")
            # Keep reading: a program whose terminal is full blocks on its last writes.
            deadline = time.monotonic() + 15
            while proc.poll() is None and time.monotonic() < deadline:
                if select.select([main], [], [], 0.1)[0]:
                    try:
                        os.read(main, 65536)
                    except OSError:
                        break
            assert proc.wait(5) == 0
    finally:
        await sb.terminate()


def test_a_bad_server_address_is_a_usage_error():
    done = subprocess.run(
        [sys.executable, "-m", "sbtui", "--server", "http://x:1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "use HOST:PORT, tls://HOST:PORT or unix:/path" in done.stderr


GRPC_LOG_LINE = re.compile(rb"[IWE]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ [\w.]+:\d+\]")


async def test_grpc_messages_never_reach_the_dashboard_screen(server, client, app, image, tmp_path):
    # gRPC's C core writes its messages to fd 2 from its own threads; told to say everything
    # about every call, it would write over the dashboard's frames, which are drawn on fd 2.
    sb = await client.sandboxes.create(app, image, timeout=120)
    out = b""
    with dashboard_on_a_pty(
        server.address, "--readonly", XDG_STATE_HOME=str(tmp_path), GRPC_VERBOSITY="debug", GRPC_TRACE="api"
    ) as (main, proc):

        def until(wanted: bytes, timeout: float) -> None:
            nonlocal out
            if wanted not in out:
                out += read_until(main, wanted, timeout)

        until(sb.sandbox_id.encode(), 30)
        await sb.terminate()  # an event, and the calls that follow it
        until(b"finished", 30)
        os.write(main, b"q")
        until(b"\x1b[?1049l", 15)  # the dashboard gives the screen back
        assert proc.wait(15) == 0
    # Never a gRPC message on the dashboard's screen, while gRPC talked all along (into the log).
    on_screen = out.partition(b"\x1b[?1049h")[2].partition(b"\x1b[?1049l")[0]
    assert on_screen
    found = GRPC_LOG_LINE.search(on_screen)
    assert found is None, f"a gRPC message was written on the dashboard: {found.group()!r}"
    log = (tmp_path / "sbtui" / "dashboard.log").read_bytes()
    assert GRPC_LOG_LINE.search(log), "gRPC said nothing: the test would show nothing"
