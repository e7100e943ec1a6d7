"""A process handle leaves nothing behind in the program's event loop.

Whatever ends its use while its exec stream is open (the sandbox terminated, the client closed,
the handle closed, or the handle simply dropped), no task is destroyed while pending, no future
or task is left with an exception never retrieved, and every task the client started ends; a
dropped handle ends its command, as close() does.

The command is quiet (the exit error nobody waits for is what was once reported as "Future
exception was never retrieved") or floods output that nobody reads, so that the handle's
receiving side is held back waiting for a read when the end comes (dropped with the handle, it
was "destroyed but it is pending"); with pipes and with a PTY. The loop runs in debug mode;
anything it reports to its exception handler, any unraisable exception (an error in a finalizer,
say) and any warning fail the test.
"""

from __future__ import annotations

import asyncio
import gc
import sys

import pytest

import sbtui
from sbtui.client.streams import BUFFER_LIMIT, PTY_BUFFER_LIMIT
from tests.servers import until

pytestmark = [pytest.mark.engine, pytest.mark.filterwarnings("error")]

DEADLINE = 30.0


@pytest.fixture
async def strict_loop():
    """The loop in debug mode; what it reports and what is unraisable is kept for the test."""
    loop = asyncio.get_running_loop()
    reported: list[str] = []
    handler, debug, hook = loop.get_exception_handler(), loop.get_debug(), sys.unraisablehook

    def loop_report(_loop, context: dict) -> None:
        reported.append(
            f"{context.get('message')}: {context.get('exception')!r} "
            f"{context.get('task') or context.get('future') or ''}"
        )

    loop.set_exception_handler(loop_report)
    sys.unraisablehook = lambda u: reported.append(f"unraisable in {u.object!r}: {u.exc_value!r}")
    loop.set_debug(True)
    try:
        yield reported
    finally:
        loop.set_debug(debug)
        loop.set_exception_handler(handler)
        sys.unraisablehook = hook


def started_since(before: set[asyncio.Task]) -> list[asyncio.Task]:
    """Tasks started since `before` that have not ended; collects garbage first, which is when
    a task that nothing holds any more is destroyed (and reported if it was still pending)."""
    gc.collect()
    return [t for t in asyncio.all_tasks() - before if t is not asyncio.current_task()]


@pytest.mark.parametrize("pty", [False, True], ids=["pipes", "pty"])
@pytest.mark.parametrize("flood", [False, True], ids=["quiet", "unread output"])
@pytest.mark.parametrize(
    "end", ["terminate the sandbox", "close the client", "close the handle", "drop the handle"]
)
async def test_an_open_process_handle_leaves_nothing_behind(
    strict_loop, server, client, app, image, end, flood, pty
):
    sb = await client.sandboxes.create(app, image, timeout=120)
    before = asyncio.all_tasks()
    # A client of its own, to be closed by the test.
    own = await sbtui.Client.connect(server.address)
    try:
        command = ["yes"] if flood else ["sh", "-c", "echo started; exec sleep 600"]
        process = await (await own.sandboxes.from_id(sb.sandbox_id)).exec(command, pty=pty)
        if flood:
            limit, stdout = (PTY_BUFFER_LIMIT if pty else BUFFER_LIMIT), process.stdout
            await until(
                lambda: len(stdout._buffer) > limit, DEADLINE, "the unread output to fill stdout's buffer"
            )
        else:
            assert (await process.stdout.readline()).strip() == b"started"
        if end == "terminate the sandbox":
            await sb.terminate()
        elif end == "close the client":
            await own.close()
        elif end == "close the handle":
            await process.close()
        del process  # what is left is the library's to end
        await own.close()
        try:
            await until(lambda: not started_since(before), DEADLINE, "the client's tasks to end")
        except AssertionError as timed_out:
            raise AssertionError(f"{timed_out}; still running: {started_since(before)}") from None
    finally:
        await own.close()
        await sb.terminate()
    assert strict_loop == [], "the event loop reported:\n" + "\n".join(strict_loop)


@pytest.mark.parametrize("pty", [False, True], ids=["pipes", "pty"])
async def test_a_dropped_process_handle_ends_its_command(strict_loop, sandbox, pty):
    # "sleep 601": a command line nothing else in the sandbox has.
    process = await sandbox.exec(["sh", "-c", "echo started; exec sleep 601"], pty=pty)
    assert (await process.stdout.readline()).strip() == b"started"
    del process

    async def ended() -> bool:
        gc.collect()
        ps = await sandbox.exec(["ps"])
        return b"sleep 601" not in await ps.stdout.read()

    await until(ended, DEADLINE, "the dropped handle's command to end")
    assert strict_loop == [], "the event loop reported:\n" + "\n".join(strict_loop)
