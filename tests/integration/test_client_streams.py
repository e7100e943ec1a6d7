"""The client core never hangs on output, whatever its size or whether anyone reads it.

An exec's output and then its exit come over one stream. Each of stdout/stderr holds up to
BUFFER_LIMIT unread before flow control holds the program back, so a call that waited for the
end while output sat unread waited forever: read() to EOF past 8 MiB, readline() of a longer
line, wait() with the output unread, close() with a full buffer.

Sizes: 1 KiB (which always worked), just past the limit, 64 MiB with every byte's place checked,
256 MiB read() to EOF for the memory it takes, and 1 GiB streamed with read(n). Read to EOF, a
GiB took 16-38 s per engine here (2 cores shared with other test runs), on top of the 10-31 s
of the streamed GiB: it is left at 256 MiB to keep the file within about a minute per engine.

Every wait here has a deadline that names what hung. The loop runs in debug mode, and anything
it reports (a future's or task's exception never retrieved, a task destroyed while pending)
fails the test, as does any warning.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from functools import lru_cache

import pytest

from sbtui.client import ConnectionLostError
from sbtui.client.streams import BUFFER_LIMIT
from tests.servers import until

pytestmark = pytest.mark.filterwarnings("error")

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
# Generous: 64 MiB takes 1-4 s here; 1 GiB 10-40 s (30-110 MB/s through the engine and server).
DEADLINE = 60.0
GIB_DEADLINE = 240.0
PAGE = os.sysconf("SC_PAGE_SIZE")


@pytest.fixture(autouse=True)
async def strict_loop():
    """The loop in debug mode; whatever it reports to its exception handler fails the test."""
    loop = asyncio.get_running_loop()
    reported: list[dict] = []
    handler, debug = loop.get_exception_handler(), loop.get_debug()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    loop.set_debug(True)
    try:
        yield
        gc.collect()  # unretrieved exceptions are reported when their future is collected
        await asyncio.sleep(0)
    finally:
        loop.set_debug(debug)
        loop.set_exception_handler(handler)
    assert not reported, f"the event loop reported: {[c.get('message') for c in reported]}"


@pytest.fixture
async def full_speed(strict_loop):
    """Debug mode off for the GiB tests: it doubles the client's time per message. What the
    loop reports still fails the test: the handler doesn't need debug mode."""
    asyncio.get_running_loop().set_debug(False)
    yield


async def within(awaitable, seconds: float, what: str):
    """The awaitable's result, or a failure naming `what` if it hasn't returned in time. Not
    asyncio.wait_for: a call that swallows its cancellation would pass for one that returned."""
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait([task], timeout=seconds)
    if not done:
        task.cancel()
        await asyncio.wait([task])
        raise AssertionError(f"{what} did not return within {seconds:.0f} s (it hangs)")
    return task.result()


BLOCK = 256 * KiB


@lru_cache
def marked(size: int) -> bytes:
    """What `marked_command(size)` writes: blocks of zeros, each starting with its number, so
    that every byte's place shows (a block's number is where it was written)."""
    block = lambda i: (b"%08d" % i).ljust(BLOCK, b"\0")  # noqa: E731
    return b"".join(block(i) for i in range(1, size // BLOCK + 2))[:size]


def marked_command(size: int, fd: int = 1) -> str:
    blocks = size // BLOCK + 1
    return (
        f"i=0; while [ $i -lt {blocks} ]; do i=$((i+1)); printf %08d $i; "
        f"head -c {BLOCK - 8} /dev/zero; done | head -c {size} >&{fd}"
    )


async def all_lines(stream) -> list:
    return [line async for line in stream]


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class PeakRss:
    """The client process's peak resident memory while the block runs, sampled every 10 ms."""

    def __init__(self) -> None:
        self.start = self.peak = 0

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, rss())
            await asyncio.sleep(0.01)

    async def __aenter__(self) -> "PeakRss":
        gc.collect()
        self.start = self.peak = rss()
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *exc) -> None:
        self._task.cancel()
        await asyncio.wait([self._task])
        self.peak = max(self.peak, rss())

    @property
    def grew(self) -> int:
        return self.peak - self.start


@pytest.mark.parametrize("size", [KiB, BUFFER_LIMIT + 1, 64 * MiB], ids=["1KiB", "8MiB+1", "64MiB"])
async def test_read_to_eof_returns_all_output_whatever_its_size(sandbox, size):
    p = await sandbox.exec(["sh", "-c", marked_command(size)])
    out = await within(p.stdout.read(), DEADLINE, f"stdout.read() of {size} bytes")
    assert len(out) == size
    assert out == marked(size)
    assert await within(p.wait(), DEADLINE, "wait() after reading stdout") == 0


async def test_read_to_eof_holds_the_output_once(sandbox, full_speed):
    size = 256 * MiB
    p = await sandbox.exec(["head", "-c", str(size), "/dev/zero"])
    started = time.monotonic()
    async with PeakRss() as memory:
        out = await within(p.stdout.read(), DEADLINE, f"stdout.read() of {size} bytes")
    took = time.monotonic() - started
    assert len(out) == size and out.count(0) == size
    # Once, with a little over: held twice (chunks and then their join) would be twice the size.
    assert memory.grew < 1.25 * size, f"reading {size} bytes grew the client {memory.grew / MiB:.0f} MiB"
    del out
    assert await within(p.wait(), DEADLINE, "wait() after reading stdout") == 0
    print(f"read() to EOF: 256 MiB in {took:.1f} s, client grew {memory.grew / MiB:.0f} MiB")


async def test_streaming_a_gib_with_read_n_keeps_the_client_small(sandbox, full_speed):
    p = await sandbox.exec(["head", "-c", str(GiB), "/dev/zero"])
    total = 0
    started = time.monotonic()

    async def stream() -> None:
        nonlocal total
        while chunk := await p.stdout.read(MiB):
            assert chunk.count(0) == len(chunk)
            total += len(chunk)

    async with PeakRss() as memory:
        await within(stream(), GIB_DEADLINE, "reading 1 GiB with stdout.read(1 MiB)")
    took = time.monotonic() - started
    assert total == GiB
    # The reader's buffer (8 MiB) and what is on its way: nowhere near the 1 GiB that went by.
    assert memory.grew < 64 * MiB, f"streaming 1 GiB grew the client by {memory.grew / MiB:.0f} MiB"
    assert await within(p.wait(), DEADLINE, "wait() after streaming stdout") == 0
    print(f"read(1 MiB) loop: 1 GiB in {took:.1f} s, client grew {memory.grew / MiB:.0f} MiB")


async def test_readline_returns_a_line_longer_than_the_buffer(sandbox):
    long = BUFFER_LIMIT + MiB
    p = await sandbox.exec(["sh", "-c", f"head -c {long} /dev/zero; echo; echo next"])
    lines = await within(all_lines(p.stdout), DEADLINE, f"async for over a {long}-byte line")
    assert [len(line) for line in lines] == [long + 1, 5] and lines[1] == b"next\n"
    assert await within(p.wait(), DEADLINE, "wait() after reading the lines") == 0


async def test_wait_returns_with_the_output_unread_keeping_its_newest(sandbox):
    size = 64 * MiB
    p = await sandbox.exec(["sh", "-c", f"{marked_command(size)}; {marked_command(size, 2)}; exit 7"])
    code = await within(p.wait(), DEADLINE, f"wait() with {size} bytes on stdout and stderr unread")
    assert code == 7
    for stream in (p.stdout, p.stderr):
        assert stream.dropped == size - BUFFER_LIMIT
        kept = await within(stream.read(), DEADLINE, "reading what wait() kept")
        assert kept == marked(size)[-BUFFER_LIMIT:]


async def test_read_to_eof_does_not_depend_on_the_other_stream_being_read(sandbox):
    size = 64 * MiB
    p = await sandbox.exec(["sh", "-c", f"{marked_command(size, 2)}; echo done"])
    out = await within(p.stdout.read(), DEADLINE, f"stdout.read() with {size} bytes of stderr unread")
    assert out == b"done\n"
    assert p.stderr.dropped == size - BUFFER_LIMIT
    assert await p.stderr.read() == marked(size)[-BUFFER_LIMIT:]
    assert await within(p.wait(), DEADLINE, "wait()") == 0


async def test_reading_both_streams_at_once_drops_nothing(sandbox):
    size = 64 * MiB
    p = await sandbox.exec(["sh", "-c", f"{marked_command(size, 2)}; {marked_command(size)}"])
    out, err, code = await within(
        asyncio.gather(p.stdout.read(), p.stderr.read(), p.wait()),
        DEADLINE,
        "stdout.read(), stderr.read() and wait() together",
    )
    assert (out, err, code) == (marked(size), marked(size), 0)
    assert p.stdout.dropped == p.stderr.dropped == 0


async def test_close_completes_with_a_full_buffer(sandbox):
    p = await sandbox.exec(["yes"])
    # Past the limit the receiving side is held until someone reads: nobody will. (The
    # reader's own buffer: nothing public tells how much is waiting unread.)
    await until(lambda: len(p.stdout._buffer) > BUFFER_LIMIT, DEADLINE, "stdout's buffer to fill")
    await within(p.close(), 10, "close() with stdout's buffer full")
    # What had arrived stays readable; then the stream says the handle was closed.
    assert len(await p.stdout.read(2 * BUFFER_LIMIT)) > BUFFER_LIMIT
    with pytest.raises(ConnectionLostError, match="closed"):
        await within(p.stdout.read(), 10, "stdout.read() after close()")
    # Nobody calls wait(): its error mustn't be reported as never retrieved (strict_loop).
