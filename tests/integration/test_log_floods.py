"""A flood of output costs the server what its kept tail costs, not what the flood costs: the
last 256 KiB are read from the end of the engine's log, and a follower's memory does not grow
with the output it follows."""

from __future__ import annotations

import asyncio
import time

import pytest

import sbtui
from sbtui.server.logs import KEEP_BYTES
from tests.servers import IMAGE, ServerProcess, new_state_dir

pytestmark = pytest.mark.engine


async def _output(sb) -> bytes:
    return b"".join([chunk.data async for chunk in sb.logs()])


def _numbers(last: int, end: bytes = b"\n") -> bytes:
    return b"".join(b"%d%s" % (i, end) for i in range(1, last + 1))


@pytest.mark.parametrize("shape", ["short lines", "one long line", "pty"])
async def test_the_kept_output_is_exactly_its_last_256_kib(client, app, image, shape):
    command, expected, pty = {
        "short lines": ("seq 1 200000", _numbers(200_000), False),
        # Engines cut a line into pieces of 16 KiB (Docker) or 8 KiB (Podman) in their logs.
        "one long line": (
            "head -c 700000 /dev/zero | tr '\\0' x; echo -n end",
            b"x" * 700_000 + b"end",
            False,
        ),
        "pty": ("seq 1 100000", _numbers(100_000, b"\r\n"), True),
    }[shape]
    sb = await client.sandboxes.create(app, image, command=["sh", "-c", command], pty=pty)
    assert await sb.wait() == 0
    assert await _output(sb) == expected[-KEEP_BYTES:]


@pytest.fixture
def roomy_server(engine):
    """A server of its own, whose engine logs hold 160 MiB: the whole of these floods."""
    server = ServerProcess(engine, new_state_dir(f"{engine}-floods"), extra=["--log-limit", "160Mi"]).start()
    yield server
    server.dispose()


def _peak_rss(pid: int) -> int:
    """The most memory the process has held so far (VmHWM), in bytes."""
    with open(f"/proc/{pid}/status") as f:
        line = next(line for line in f if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


async def test_the_end_of_a_flood_of_short_lines_is_kept_at_once(roomy_server):
    # Two million lines of `y`: before, keeping their tail held each line as a frame and
    # dropped the oldest one at a time, which took minutes of the server's CPU.
    async with sbtui.Client.connect(roomy_server.address) as client:
        app = await client.apps.from_name("floods", create_if_missing=True)
        sb = await client.sandboxes.create(
            app, client.images.from_registry(IMAGE), command=["sh", "-c", "yes | head -n 2000000"]
        )
        assert await asyncio.wait_for(sb.wait(), 120) == 0
        exited = time.monotonic()
        kept = await asyncio.wait_for(_output(sb), 30)
        assert kept == b"y\n" * (KEEP_BYTES // 2)
        print(f"kept {len(kept)} bytes {time.monotonic() - exited:.2f} s after the exit")


async def test_followers_of_a_flood_get_all_of_it_and_hold_no_more_memory(roomy_server):
    # Before, a follower read the whole log again into memory when the sandbox ended; and on
    # Podman, whose follow ends at the exit, one that lagged lost the rest with the container.
    size = 64 * 1024 * 1024
    async with sbtui.Client.connect(roomy_server.address) as client:
        app = await client.apps.from_name("floods", create_if_missing=True)
        sb = await client.sandboxes.create(
            app,
            client.images.from_registry(IMAGE),
            command=[
                "sh",
                "-c",
                f"while [ ! -e /tmp/go ]; do sleep 0.05; done; head -c {size} /dev/zero | tr '\\0' y",
            ],
        )
        pid = roomy_server.process.pid
        before = _peak_rss(pid)

        async def follow() -> int:
            got = 0
            async for chunk in sb.logs(follow=True):
                got += len(chunk.data)
            return got

        followers = [asyncio.create_task(follow()) for _ in range(2)]
        assert await (await sb.exec(["touch", "/tmp/go"])).wait() == 0
        assert await asyncio.wait_for(asyncio.gather(*followers), 120) == [size, size]
        grown = _peak_rss(pid) - before
        print(f"the server's peak RSS grew by {grown / 2**20:.1f} MiB")
        assert grown < 48 * 1024 * 1024, f"the server's peak memory grew by {grown / 2**20:.0f} MiB"
