"""What watching the disk limit costs the server, at the default settings.

For each engine this starts its own `sbtui server` (default limits: 10 GiB of disk, so a
sandbox far from it is measured every 5 s), and measures the server's CPU time (all its
threads, from /proc) over a window with no sandbox, then with N idle sandboxes whose writable
layers hold F files each (made with `seq | xargs touch`). The difference, per sandbox and per
minute, is the watcher's cost: idle sandboxes cost the server nothing else. It also times one
measure of such a layer in this process against `du -s` of the same directory.

    .venv/bin/python -m benchmarks.disk_watch [--engine podman|docker|both] [--sandboxes 10]
        [--files 0,1000,10000,100000] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import time
import traceback
from pathlib import Path

import aiodocker

import sbtui
from sbtui.server import disk
from sbtui.server.runtime.base import WritablePaths
from tests.servers import IMAGE, ServerProcess, new_state_dir

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_bytes()
    fields = stat[stat.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime, every thread


async def server_cpu(server: ServerProcess, seconds: float) -> float:
    start = cpu_seconds(server.process.pid)
    await asyncio.sleep(seconds)
    return cpu_seconds(server.process.pid) - start


def timed(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


async def one_engine(engine: str, sandboxes: int, file_counts: list[int], seconds: float) -> None:
    server = ServerProcess(engine, new_state_dir(f"bench-{engine}"))
    server.start()
    try:
        async with (
            sbtui.Client.connect(server.address) as client,
            aiodocker.Docker(url=server.engine_url) as docker,
        ):
            app = await client.apps.from_name("bench-disk", create_if_missing=True)
            image = client.images.from_registry(IMAGE)
            idle = await server_cpu(server, seconds)
            print(f"{engine}: server CPU with no sandbox: {idle * 1000 / seconds * 60:.1f} ms/min")
            for files in file_counts:
                made = [await client.sandboxes.create(app, image, timeout=3600) for _ in range(sandboxes)]
                try:
                    for sb in made:
                        if files:
                            p = await sb.exec(
                                ["sh", "-c", f"mkdir /tmp/f && cd /tmp/f && seq 1 {files} | xargs touch"]
                            )
                            assert await p.wait() == 0
                    used = await server_cpu(server, seconds)
                    per = (used - idle) / sandboxes / seconds * 60
                    layer = (await docker.containers.container(f"sbtui-{made[0].sandbox_id}").show())[
                        "GraphDriver"
                    ]["Data"]["UpperDir"]
                    walk = timed(lambda: disk.usage(WritablePaths(layer)))
                    du = timed(lambda: subprocess.run(["du", "-s", layer], capture_output=True, check=True))
                    print(
                        f"{engine}: {sandboxes} sandboxes of {files} files: watcher "
                        f"{per * 1000:.1f} ms CPU per sandbox per minute; one measure "
                        f"{walk * 1000:.2f} ms, du -s {du * 1000:.2f} ms (ratio {walk / du:.2f})"
                    )
                finally:
                    for sb in made:
                        await sb.terminate(wait=True)
    finally:
        server.dispose(tell=True)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("podman", "docker", "both"), default="both")
    parser.add_argument("--sandboxes", type=int, default=10)
    parser.add_argument("--files", default="0,1000,10000,100000")
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    engines = ["podman", "docker"] if args.engine == "both" else [args.engine]
    print(f"check interval far from the default 10 GiB limit: {disk.interval(10 << 30, 0):.1f} s")
    failed = False
    for engine in engines:
        try:
            await one_engine(engine, args.sandboxes, [int(f) for f in args.files.split(",")], args.seconds)
        except Exception:
            traceback.print_exc()
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
