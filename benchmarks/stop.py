"""A graceful stop: how long the server takes to exit on SIGTERM with N terminations acknowledged
and not yet done, against the raw engine removing the same number of containers.

For each engine and run: a fresh `sbtui server`, N sandboxes created through it, all terminated
at once (acknowledged, not waited for), SIGTERM at once; timed from SIGTERM to the server's exit,
with the server's own figure for finishing the terminations (killed, exit code and output kept,
container removed) from its log. Then the engine is asked, with its own CLI, for any container of
the server's left behind: there must be none. For reference, N containers of the same image made
directly on the engine are removed at once (`delete(force=True)`, kill included), against the
time from sending the terminates to the server's exit.

    .venv/bin/python -m benchmarks.stop [--engine podman|docker|both] [--sandboxes 30] [--runs 3]

Exit code 1 if anything errored or a container was left behind.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field

import sbtui
from benchmarks.engine_overhead import RawEngine
from sbtui.server.runtime.engine import ulimits_of
from tests.servers import IMAGE, STOP_WAIT, ServerProcess, new_state_dir

CARRIED_OUT = re.compile(r"carried out (\d+) terminations in ([\d.]+) s before stopping")


@dataclass
class Figures:
    total: list[float] = field(default_factory=list)  # terminates sent -> exited, seconds
    stop: list[float] = field(default_factory=list)  # SIGTERM -> exited
    finish: list[float] = field(default_factory=list)  # the server's own: terminations done
    raw: list[float] = field(default_factory=list)  # raw engine: N containers removed
    left: int = 0  # containers found after the stop
    errors: list[str] = field(default_factory=list)


async def raw_removal(raw: RawEngine, n: int) -> float:
    made = await asyncio.gather(*(raw.create_and_start() for _ in range(n)))
    started = time.perf_counter()
    await asyncio.gather(*(raw.remove(cid) for cid in made))
    return time.perf_counter() - started


async def one_run(engine: str, n: int, figures: Figures) -> None:
    server = ServerProcess(engine, new_state_dir(f"bench-{engine}"))
    raw = None
    try:
        server.start()
        raw = RawEngine(
            server.engine_url,
            ulimits_of(server.podman_pid) if engine == "podman" else [],
            secrets.token_hex(6),
        )
        await raw.prepare()
        figures.raw.append(await raw_removal(raw, n))
        await raw.close()
        raw = None
        async with sbtui.Client.connect(server.address) as client:
            app = await client.apps.from_name("bench-stop", create_if_missing=True)
            image = await client.images.from_registry(IMAGE).resolve()
            sandboxes = await asyncio.gather(
                *(client.sandboxes.create(app, image, timeout=600) for _ in range(n))
            )
            asked = time.perf_counter()
            await asyncio.gather(*(sb.terminate() for sb in sandboxes))
        started = time.perf_counter()
        server.process.terminate()
        try:
            code = await asyncio.to_thread(server.process.wait, STOP_WAIT)
        except subprocess.TimeoutExpired:
            figures.errors.append(f"the server did not stop within {STOP_WAIT} s")
            return
        figures.stop.append(time.perf_counter() - started)
        figures.total.append(time.perf_counter() - asked)
        if code != 0:
            figures.errors.append(f"the server exited with code {code}")
        found = CARRIED_OUT.search(server.log_tail(20))
        if found and int(found[1]) == n:
            figures.finish.append(float(found[2]))
        else:
            figures.errors.append(
                f"the server did not say it carried out {n} terminations:\n{server.log_tail(10)}"
            )
    except Exception as err:  # a benchmark reports every failure, of any kind
        figures.errors.append(f"{type(err).__name__}: {err}")
        traceback.print_exc()
        print(f"[{engine}] server log tail:\n{server.log_tail()}", file=sys.stderr)
    finally:
        if raw is not None:
            await raw.close()
        figures.left += len(server.dispose(tell=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("podman", "docker", "both"), default="both")
    parser.add_argument("--sandboxes", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    engines = ["docker", "podman"] if args.engine == "both" else [args.engine]
    failed = False
    for engine in engines:
        figures = Figures()
        for run in range(args.runs):
            print(f"[{engine}] run {run + 1} of {args.runs}: {args.sandboxes} sandboxes", flush=True)
            asyncio.run(one_run(engine, args.sandboxes, figures))
        print(
            f"== {engine}: {args.sandboxes} terminations acknowledged, then SIGTERM; "
            f"medians of {len(figures.stop)} runs (1-min load {os.getloadavg()[0]:.1f}) =="
        )
        if figures.stop and figures.raw:
            total, raw = statistics.median(figures.total), statistics.median(figures.raw)
            finish = statistics.median(figures.finish) if figures.finish else float("nan")
            print(
                f"   SIGTERM -> exited {statistics.median(figures.stop):.2f} s, of which the "
                f"terminations still under way {finish:.2f} s"
            )
            print(
                f"   terminates sent -> exited {total:.2f} s; the raw engine removes "
                f"{args.sandboxes} containers in {raw:.2f} s; ratio {total / raw:.2f}x"
            )
        print(f"   containers left after the stop: {figures.left}")
        for error in figures.errors:
            print(f"   ERROR: {error}")
        failed |= bool(figures.errors) or figures.left > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
