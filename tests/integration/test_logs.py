"""The main command's output, read and followed, and kept after the sandbox ends."""

from __future__ import annotations

import asyncio


async def _collect(sb, **kwargs) -> tuple[bytes, bytes]:
    out, err = b"", b""
    async for chunk in sb.logs(**kwargs):
        if chunk.stream == "stdout":
            out += chunk.data
        else:
            err += chunk.data
    return out, err


async def test_logs_follow_until_exit_and_are_kept(client, app, image):
    sb = await client.sandboxes.create(
        app,
        image,
        command=[
            "sh",
            "-c",
            "echo one; echo oops >&2; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo two",
        ],
    )
    seen = []

    async def follow():
        async for chunk in sb.logs(follow=True):
            seen.append((chunk.stream, chunk.data))

    follower = asyncio.create_task(follow())

    # The follower sees the first line while the command still runs.
    async def first_line():
        while ("stdout", b"one\n") not in seen:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(first_line(), 15)
    p = await sb.exec(["touch", "/tmp/go"])
    assert await p.wait() == 0
    await asyncio.wait_for(follower, 30)  # ends by itself when the sandbox exits
    out = b"".join(d for s, d in seen if s == "stdout")
    assert out == b"one\ntwo\n"
    assert ("stderr", b"oops\n") in seen
    assert await sb.wait() == 0
    assert await _collect(sb) == (b"one\ntwo\n", b"oops\n")  # kept after the container went
    assert await _collect(sb, tail=1) == (b"two\n", b"")


async def test_logs_of_a_running_sandbox_and_tail(client, app, image):
    sb = await client.sandboxes.create(app, image, command=["sh", "-c", "seq 1 50; sleep 300"])

    async def fifty():
        while True:
            out, _ = await _collect(sb)
            if out.endswith(b"50\n"):
                return out
            await asyncio.sleep(0.05)

    out = await asyncio.wait_for(fifty(), 15)
    assert out.split() == [str(i).encode() for i in range(1, 51)]
    assert (await _collect(sb, tail=3))[0] == b"48\n49\n50\n"
    await sb.terminate()


async def test_output_of_commands_that_end_at_once_is_kept(client, app, image):
    # They exit before the engine has answered the create: the server learns of the
    # container from its exit. Several, as whether the exit comes first is a race.
    async def one(i: int, pty: bool) -> tuple[bytes, bytes]:
        sb = await client.sandboxes.create(app, image, pty=pty, command=["echo", f"quick {i}"])
        assert await sb.wait() == 0
        return await _collect(sb)

    cases = [(i, i % 2 == 1) for i in range(12)]
    results = await asyncio.gather(*(one(i, pty) for i, pty in cases))
    for (i, pty), (out, err) in zip(cases, results):
        assert (out.replace(b"\r\n", b"\n"), err) == (f"quick {i}\n".encode(), b""), f"pty={pty}"


async def test_logs_of_a_pty_sandbox(client, app, image):
    sb = await client.sandboxes.create(app, image, pty=True, command=["sh", "-c", "echo in a tty"])
    assert await sb.wait() == 0
    out, _ = await _collect(sb)
    assert out.replace(b"\r\n", b"\n") == b"in a tty\n"
