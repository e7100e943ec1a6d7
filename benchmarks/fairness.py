"""Another tenant's exec latency while one sandbox takes a flood of concurrent execs, next to the
same exec with no flood: at the server's default limits, and with the limits lifted (as before
there were any).

    .venv/bin/python -m benchmarks.fairness [--engine podman|docker|both] [--flood 1000]
        [--runs 20] [--skip-unlimited]

Sandboxes A and B are in one environment, D in another. The flood is FLOOD execs of `sleep`
into A, all at once; the ones admitted hold their places. While the flood is being answered,
B and D each run `echo ok` again and again, on a client of their own; alone, one after the other.
Exit code 1 if an exec of B or D failed, or a flood exec failed other than by the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

import sbtui
from sbtui.client import ContainerProcess, ResourceExhaustedError
from tests.servers import IMAGE, ServerProcess, new_state_dir

UNLIMITED = ["--max-streams-per-sandbox", "1000000", "--max-streams-per-environment", "1000000"]
GIVE_UP = 120.0  # one exec of B or D taking this long counts as failed


async def echo(sandbox) -> float:
    started = time.perf_counter()
    process = await sandbox.exec(["echo", "ok"])
    if (await process.stdout.read(), await process.wait()) != (b"ok\n", 0):
        raise RuntimeError("echo did not say ok")
    return (time.perf_counter() - started) * 1000


def figures(samples: list[float]) -> str:
    return f"p50 {statistics.median(samples):7.1f} ms, max {max(samples):8.1f} ms (n={len(samples):2})"


async def bench(engine: str, flood_size: int, runs: int, extra: list[str], label: str) -> bool:
    server = ServerProcess(engine, new_state_dir(f"bench-{engine}"), extra=extra)
    ok = True
    try:
        server.start()
        async with (
            sbtui.Client.connect(server.address) as tenant,
            sbtui.Client.connect(server.address) as others,
        ):
            image = await tenant.images.from_registry(IMAGE).resolve()
            app = await tenant.apps.from_name("bench-fair", create_if_missing=True)
            elsewhere = await tenant.apps.from_name("bench-fair", create_if_missing=True, environment="other")
            a, b, d = [await tenant.sandboxes.create(x, image, timeout=600) for x in (app, app, elsewhere)]
            b, d = [await others.sandboxes.from_id(s.sandbox_id) for s in (b, d)]
            errors: list[str] = []

            alone = {"B": [], "D": []}
            for _ in range(runs):
                for name, sandbox in (("B", b), ("D", d)):
                    alone[name].append(await echo(sandbox))

            under = {"B": [], "D": []}
            flood = [asyncio.create_task(a.exec(["sleep", "600"])) for _ in range(flood_size)]
            started = time.perf_counter()
            last_answer = [started]
            for task in flood:
                task.add_done_callback(lambda _: last_answer.append(time.perf_counter()))

            async def meanwhile(name: str, sandbox) -> None:
                while not all(task.done() for task in flood) or len(under[name]) < runs:
                    try:
                        under[name].append(await asyncio.wait_for(echo(sandbox), GIVE_UP))
                    except Exception as err:  # a benchmark reports every failure, of any kind
                        errors.append(f"{name} under the flood: {type(err).__name__}: {err}")
                        under[name].append(GIVE_UP * 1000)

            await asyncio.gather(meanwhile("B", b), meanwhile("D", d))
            answered = max(last_answer) - started
            outcomes = await asyncio.gather(*flood, return_exceptions=True)
            admitted = [o for o in outcomes if isinstance(o, ContainerProcess)]
            refused = [o for o in outcomes if isinstance(o, ResourceExhaustedError)]
            errors += [
                f"flood: {type(o).__name__}: {o}"
                for o in outcomes
                if not isinstance(o, (ContainerProcess, ResourceExhaustedError))
            ]
            await asyncio.gather(*(p.close() for p in admitted))
            await asyncio.gather(*(s.terminate(wait=True) for s in (a, b, d)))

            print(
                f"[{engine}, {label}] flood of {flood_size} execs into A: {len(admitted)} started, "
                f"{len(refused)} refused, all answered in {answered:.1f} s"
            )
            for name, where in (("B", "A's environment"), ("D", "another environment")):
                ratio = statistics.median(under[name]) / statistics.median(alone[name])
                print(
                    f"    {name}, {where:19}: alone {figures(alone[name])} | "
                    f"under the flood {figures(under[name])} | p50 {ratio:.1f}x"
                )
            for line in errors[:5]:
                print("   ", line)
            ok &= not errors
    finally:
        server.dispose(tell=True)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("podman", "docker", "both"), default="both")
    parser.add_argument("--flood", type=int, default=1000, help="concurrent execs into A")
    parser.add_argument(
        "--runs", type=int, default=20, help="execs of B and D alone, and at least under the flood"
    )
    parser.add_argument("--skip-unlimited", action="store_true", help="only the default limits")
    args = parser.parse_args()
    engines = ["docker", "podman"] if args.engine == "both" else [args.engine]
    ok = True
    for engine in engines:
        ok &= asyncio.run(bench(engine, args.flood, args.runs, [], "default limits"))
        if not args.skip_unlimited:
            ok &= asyncio.run(bench(engine, args.flood, args.runs, UNLIMITED, "limits lifted"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
