"""The server under a flood of output: 1 GiB printed by one sandbox while five clients follow it,
next to the same server idle. Prints the server's memory (RSS) and `sandbox list` latency in
both, side by side, and what the followers and the kept tail cost.

    .venv/bin/python -m benchmarks.log_flood [--engine podman|docker|both] [--mib 1024]
        [--followers 5] [--log-limit 32Mi]

Targets: server RSS at most +50 MB over idle, and `sandbox list` p99 at most 100 ms, during the
flood. `--log-limit` is the server's (the engine keeps that much of the output; at the default a
follower that lags loses what the engine's log has rotated away). Exit code 1 if a call failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import sbtui
from tests.servers import IMAGE, ROOT, ServerProcess, new_state_dir

LIST_EVERY = 0.05  # seconds between `sandbox list` calls
IDLE_SECONDS = 10.0


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS:")).split()[1]) * 1024


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks of 1/100 s


class Watch:
    """`sandbox list` timed again and again, and the server's RSS sampled, until stopped."""

    def __init__(self, client, pid: int) -> None:
        self.client, self.pid = client, pid
        self.latencies: list[float] = []
        self.rss: list[int] = []
        self._stop = asyncio.Event()

    async def run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            async for _ in self.client.sandboxes.list():
                pass
            self.latencies.append((time.perf_counter() - started) * 1000)
            self.rss.append(rss(self.pid))
            try:
                await asyncio.wait_for(self._stop.wait(), LIST_EVERY)
            except asyncio.TimeoutError:
                pass

    def stop(self) -> None:
        self._stop.set()

    @property
    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]

    def figures(self) -> str:
        return (
            f"list p50 {statistics.median(self.latencies):6.1f} ms  p99 {self.p99:6.1f} ms  "
            f"(n={len(self.latencies):4})   RSS max {max(self.rss) / 1e6:6.1f} MB"
        )


async def follow(sb) -> int:
    got = 0
    async for chunk in sb.logs(follow=True):
        got += len(chunk.data)
    return got


async def followers(address: str, sandbox_id: str, count: int) -> None:
    """The followers, in a process of their own (`--follow`), as clients elsewhere would be:
    in the measuring process they would hold up its own `sandbox list` calls. Prints `ready`,
    then the bytes each got."""
    async with sbtui.Client.connect(address) as client:
        sb = await client.sandboxes.from_id(sandbox_id)
        readers = [asyncio.create_task(follow(sb)) for _ in range(count)]
        print("ready", flush=True)
        print(json.dumps(await asyncio.gather(*readers)), flush=True)


async def run_followers(address: str, sandbox_id: str, count: int) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.log_flood",
        "--follow",
        address,
        sandbox_id,
        str(count),
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    if await process.stdout.readline() != b"ready\n":
        raise RuntimeError("the followers' process did not start")
    return process


async def bench(engine: str, mib: int, count: int, log_limit: str) -> bool:
    server = ServerProcess(engine, new_state_dir(f"bench-{engine}"), extra=["--log-limit", log_limit])
    following = None
    try:
        server.start()
        pid = server.process.pid
        async with (
            sbtui.Client.connect(server.address) as client,
            sbtui.Client.connect(server.address) as lister,
        ):
            image = await client.images.from_registry(IMAGE).resolve()
            app = await client.apps.from_name("bench-flood", create_if_missing=True)
            # A few sandboxes for the list to show.
            others = [await client.sandboxes.create(app, image, timeout=600) for _ in range(3)]
            size = mib * 1024 * 1024
            sb = await client.sandboxes.create(
                app,
                image,
                timeout=1800,
                command=[
                    "sh",
                    "-c",
                    f"while [ ! -e /tmp/go ]; do sleep 0.05; done; head -c {size} /dev/zero | tr '\\0' y",
                ],
            )

            idle = Watch(lister, pid)
            task = asyncio.create_task(idle.run())
            await asyncio.sleep(IDLE_SECONDS)  # the idle baseline is a length of time by design
            idle.stop()
            await task

            flood = Watch(lister, pid)
            task = asyncio.create_task(flood.run())
            cpu_before = cpu_seconds(pid)
            started = time.perf_counter()
            following = await run_followers(server.address, sb.sandbox_id, count)
            await (await sb.exec(["touch", "/tmp/go"])).wait()
            got = json.loads(await following.stdout.readline() or b"null")
            if await following.wait() != 0 or got is None:
                raise RuntimeError(f"the followers failed (exit code {following.returncode})")
            followed = time.perf_counter() - started
            await sb.wait()
            exited = time.perf_counter()
            kept = sum([len(c.data) async for c in sb.logs()])
            kept_after = time.perf_counter() - exited
            cpu = cpu_seconds(pid) - cpu_before
            flood.stop()
            await task
            for other in others:
                await other.terminate(wait=True)

        grown = (max(flood.rss) - max(idle.rss)) / 1e6
        p99 = flood.p99
        print(f"{engine}: {mib} MiB printed, {count} followers, --log-limit {log_limit}")
        print(f"  idle   {idle.figures()}")
        print(f"  flood  {flood.figures()}")
        print(
            f"  flood/idle: RSS +{grown:.1f} MB (target <= 50), list p99 {p99:.1f} ms (target <= 100): "
            f"{'met' if grown <= 50 and p99 <= 100 else 'MISSED'}"
        )
        print(
            f"  followers got {', '.join(f'{g / 2**20:.0f}' for g in got)} MiB in {followed:.1f} s; "
            f"server CPU {cpu:.1f} s; kept tail {kept} bytes, "
            f"readable {kept_after * 1000:.0f} ms after the exit"
        )
        return True
    except Exception as err:  # noqa: BLE001 (a benchmark reports and goes on)
        print(f"{engine}: failed: {type(err).__name__}: {err}\n{server.log_tail()}")
        return False
    finally:
        if following is not None and following.returncode is None:
            following.terminate()  # ours, by its pid
            await following.wait()
        server.dispose(tell=True)


def main() -> int:
    if sys.argv[1:2] == ["--follow"]:
        address, sandbox_id, count = sys.argv[2:5]
        asyncio.run(followers(address, sandbox_id, int(count)))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["podman", "docker", "both"], default="both")
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--followers", type=int, default=5)
    parser.add_argument("--log-limit", default="32Mi")
    args = parser.parse_args()
    engines = ["podman", "docker"] if args.engine == "both" else [args.engine]
    ok = True
    for engine in engines:
        ok &= asyncio.run(bench(engine, args.mib, args.followers, args.log_limit))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
