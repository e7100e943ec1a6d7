"""One tenant's flood of execs can't starve another's: exec sessions and log reads are counted per
sandbox, and with watches per environment; a call past a limit is refused at once with
RESOURCE_EXHAUSTED, in a message that names the limit, its value and what to do.

Without the limits, 1000 concurrent execs into one sandbox held another sandbox's exec for
30-60 s (every exec queued at the engine). B's figures under A's flood: benchmarks/fairness.py.
"""

from __future__ import annotations

import asyncio
import time

import pytest

import sbtui
from sbtui.client import ContainerProcess, ResourceExhaustedError, Sandbox
from sbtui.server.stream_limits import DEFAULT_PER_SANDBOX
from tests.integration.test_cli import sbtui as run_cli
from tests.servers import IMAGE, ServerProcess, new_state_dir

PER_SANDBOX, PER_ENVIRONMENT = 3, 5
FLOOD = 1000
# Generous for an `echo` on this machine (tenths of a second alone, loaded or not); without the
# limits the flood held it for 30 s (Docker) to over 60 s (Podman).
PROMPT = 15.0
WHAT_TO_DO = (
    "close one or wait for one to end, then try again, or ask the server's operator to raise the limit"
)


@pytest.fixture(scope="module")
def limited(engine):
    """A server of its own, with small limits."""
    proc = ServerProcess(
        engine,
        new_state_dir(engine),
        extra=[
            "--max-streams-per-sandbox",
            str(PER_SANDBOX),
            "--max-streams-per-environment",
            str(PER_ENVIRONMENT),
        ],
    ).start()
    yield proc
    proc.dispose()


async def echo_promptly(client: sbtui.Client, sandbox_id: str) -> None:
    """An exec on `client` into the sandbox runs and ends within PROMPT seconds."""

    async def run() -> None:
        sandbox = await client.sandboxes.from_id(sandbox_id)
        process = await sandbox.exec(["echo", "ok"])
        assert (await process.stdout.read(), await process.wait()) == (b"ok\n", 0)

    try:
        await asyncio.wait_for(run(), PROMPT)
    except TimeoutError:
        pytest.fail(f"an exec into {sandbox_id} did not end within {PROMPT} s")


async def held(sandbox: Sandbox) -> ContainerProcess:
    """An exec that stays open until closed: `cat` on an open stdin."""
    return await sandbox.exec(["cat"])


def sandbox_refusal(sandbox_id: str, limit: int) -> str:
    return (
        f"exec refused: sandbox {sandbox_id} already has {limit} exec sessions and log reads "
        f"open, the most this server allows per sandbox (--max-streams-per-sandbox {limit}); "
        f"{WHAT_TO_DO}"
    )


async def test_past_a_limit_calls_are_refused_saying_which_and_others_run(limited):
    async with (
        sbtui.Client.connect(limited.address) as tenant,
        sbtui.Client.connect(limited.address) as other,
    ):
        image = tenant.images.from_registry(IMAGE)
        app = await tenant.apps.from_name("fair", create_if_missing=True)
        elsewhere = await tenant.apps.from_name("fair", create_if_missing=True, environment="elsewhere")
        a, b, c = [
            await tenant.sandboxes.create(app, image, timeout=300, command=["sh", "-c", "echo up; sleep 600"])
            for _ in range(3)
        ]
        d = await tenant.sandboxes.create(elsewhere, image, timeout=300)
        opened = [await held(a) for _ in range(PER_SANDBOX)]
        try:
            # Sandbox A is at its limit: an exec and a log read into it are refused at once.
            with pytest.raises(ResourceExhaustedError) as refused:
                await a.exec(["true"])
            assert str(refused.value) == sandbox_refusal(a.sandbox_id, PER_SANDBOX)
            with pytest.raises(ResourceExhaustedError, match=r"log read refused: .* per sandbox"):
                async for _ in a.logs(follow=True):
                    pass
            result = run_cli(limited, "sandbox", "exec", a.sandbox_id, "--", "true")
            assert (result.returncode, result.stdout) == (1, b"")
            assert result.stderr.decode() == f"sbtui: error: {sandbox_refusal(a.sandbox_id, PER_SANDBOX)}\n"

            # While attempts on A keep coming, B (same environment) and D (another) run theirs.
            burst = [asyncio.create_task(a.exec(["true"])) for _ in range(50)]
            await echo_promptly(other, b.sandbox_id)
            await echo_promptly(other, d.sandbox_id)
            outcomes = await asyncio.gather(*burst, return_exceptions=True)
            assert all(isinstance(o, ResourceExhaustedError) for o in outcomes), outcomes

            # Environment 'main' at its limit: 3 in A and 2 in B. C has room of its own, but
            # its exec, its log read and a watch of the environment are refused.
            opened += [await held(b) for _ in range(PER_ENVIRONMENT - PER_SANDBOX)]
            said = (
                f"already has {PER_ENVIRONMENT} exec sessions, log reads and watches open, the "
                f"most this server allows per environment (--max-streams-per-environment "
                f"{PER_ENVIRONMENT}); {WHAT_TO_DO}"
            )
            with pytest.raises(ResourceExhaustedError) as refused:
                await c.exec(["true"])
            assert str(refused.value) == f"exec refused: environment 'main' {said}"
            with pytest.raises(ResourceExhaustedError) as refused:
                async for _ in c.logs(follow=True):
                    pass
            assert str(refused.value) == f"log read refused: environment 'main' {said}"
            with pytest.raises(ResourceExhaustedError) as refused:
                async for _ in other.sandboxes.watch(environment="main"):
                    pass
            assert str(refused.value) == f"watch refused: environment 'main' {said}"
            await echo_promptly(other, d.sandbox_id)  # another environment's own count
        finally:
            for process in opened:
                await process.close()

        # Closed streams give their places back (the server hears of each close a moment later).
        deadline = time.monotonic() + 10
        while True:
            try:
                await echo_promptly(other, c.sandbox_id)
                await echo_promptly(other, a.sandbox_id)
                break
            except ResourceExhaustedError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)
        for sandbox in (a, b, c, d):
            await sandbox.terminate()


async def test_a_flood_of_execs_into_one_sandbox_leaves_the_others_working(server):
    """At the default limits, FLOOD concurrent execs into A: B in the same environment and D in
    another still run theirs promptly; A's past its limit are refused, naming it."""
    async with sbtui.Client.connect(server.address) as tenant, sbtui.Client.connect(server.address) as other:
        image = tenant.images.from_registry(IMAGE)
        app = await tenant.apps.from_name("flood", create_if_missing=True)
        elsewhere = await tenant.apps.from_name("flood", create_if_missing=True, environment="flood-other")
        a, b = [await tenant.sandboxes.create(app, image, timeout=300) for _ in range(2)]
        d = await tenant.sandboxes.create(elsewhere, image, timeout=300)
        answered = 0

        async def attempt() -> ContainerProcess:
            nonlocal answered
            try:
                return await a.exec(["sleep", "600"])
            finally:
                answered += 1

        flood = [asyncio.create_task(attempt()) for _ in range(FLOOD)]
        try:
            deadline = time.monotonic() + PROMPT
            while answered < 10:  # the flood has reached the server
                assert time.monotonic() < deadline, "the flood's first execs got no answer"
                await asyncio.sleep(0.01)
            await echo_promptly(other, b.sandbox_id)
            await echo_promptly(other, d.sandbox_id)
            outcomes = await asyncio.wait_for(asyncio.gather(*flood, return_exceptions=True), PROMPT)
        finally:
            for task in flood:
                task.cancel()  # after a failure: stop waiting for the rest of the flood
            made = await asyncio.gather(*flood, return_exceptions=True)
            await asyncio.gather(*(p.close() for p in made if isinstance(p, ContainerProcess)))
            for sandbox in (a, b, d):
                await sandbox.terminate()
        started = [o for o in outcomes if isinstance(o, ContainerProcess)]
        refused = [o for o in outcomes if isinstance(o, ResourceExhaustedError)]
        assert len(started) <= DEFAULT_PER_SANDBOX and len(started) + len(refused) == FLOOD, outcomes
        assert {str(o) for o in refused} == {sandbox_refusal(a.sandbox_id, DEFAULT_PER_SANDBOX)}


async def test_log_follows_up_to_the_limits_are_served_and_leave_the_engine_to_the_others(server):
    """Followed logs each hold an engine connection for as long as they last: with more of them
    open in one environment than the engine client's pool (100), each sandbox within its limit,
    an exec in another environment still runs promptly, and every follow is served."""
    sandboxes, per_sandbox = 4, 28  # 112 follows: under 32 per sandbox and 128 per environment
    async with sbtui.Client.connect(server.address) as tenant, sbtui.Client.connect(server.address) as other:
        image = tenant.images.from_registry(IMAGE)
        app = await tenant.apps.from_name("follows", create_if_missing=True)
        elsewhere = await tenant.apps.from_name(
            "follows", create_if_missing=True, environment="follows-other"
        )
        talking = [
            await tenant.sandboxes.create(app, image, timeout=300, command=["sh", "-c", "echo up; sleep 600"])
            for _ in range(sandboxes)
        ]
        d = await tenant.sandboxes.create(elsewhere, image, timeout=300)
        following = 0

        async def follow(sandbox: Sandbox) -> None:
            nonlocal following
            async for _ in sandbox.logs(follow=True):
                following += 1
                await asyncio.Event().wait()  # hold the stream open until cancelled

        follows = [asyncio.create_task(follow(sb)) for sb in talking for _ in range(per_sandbox)]
        try:
            deadline = time.monotonic() + 30
            while following < len(follows) and time.monotonic() < deadline:
                done = [task for task in follows if task.done()]
                assert not done, done[0].exception()
                await asyncio.sleep(0.05)
            await echo_promptly(other, d.sandbox_id)
            assert following == len(follows), f"only {following} of {len(follows)} follows began"
        finally:
            for task in follows:
                task.cancel()
            await asyncio.gather(*follows, return_exceptions=True)
            for sandbox in (*talking, d):
                await sandbox.terminate()
