"""Load on a 2-core machine: N PTY sessions typing and reading for a while, and M sandboxes
created at once, through one sbtui server; reports errors and keystroke-echo latency.

    .venv/bin/python -m benchmarks.load [--engine podman|docker|both] [--sessions 50]
        [--seconds 60] [--sandboxes 100]

A session types one character every 100 ms into `sh` on a PTY and times how long until the
character comes back echoed. Sessions share 10 sandboxes. Exit code 1 if anything errored.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import string
import sys
import time

import sbtui
from tests.servers import IMAGE, ServerProcess, new_state_dir

TYPING_INTERVAL = 0.1
SANDBOXES_FOR_SESSIONS = 10


async def session(sb, seconds: float, latencies: list[float], errors: list[str]) -> None:
    try:
        p = await sb.exec(["sh"], pty=True, pty_size=(24, 80))
        buffer = b""
        deadline = time.monotonic() + seconds
        i = 0
        while time.monotonic() < deadline:
            char = string.ascii_letters[i % 52].encode()
            i += 1
            started = time.perf_counter()
            p.stdin.write(char)
            await p.stdin.drain()
            while char not in buffer:
                chunk = await asyncio.wait_for(p.stdout.read(4096), 10)
                if not chunk:
                    raise RuntimeError("the session ended")
                buffer += chunk
            latencies.append((time.perf_counter() - started) * 1000)
            buffer = buffer[buffer.index(char) + 1 :]
            await asyncio.sleep(TYPING_INTERVAL)
        p.stdin.write(b"\x15exit\r")  # ctrl+u clears the typed line first
        await asyncio.wait_for(p.wait(), 15)
    except Exception as err:  # a benchmark reports every failure, of any kind
        errors.append(f"session: {type(err).__name__}: {err}")


async def bench(engine: str, sessions: int, seconds: float, sandboxes: int) -> bool:
    server = ServerProcess(engine, new_state_dir(f"bench-{engine}"))
    ok = True
    try:
        server.start()
        async with sbtui.Client.connect(server.address) as client:
            app = await client.apps.from_name("bench-load", create_if_missing=True)
            image = await client.images.from_registry(IMAGE).resolve()

            # M sandboxes at once
            errors: list[str] = []
            started = time.perf_counter()
            made = await asyncio.gather(
                *(client.sandboxes.create(app, image, timeout=600) for _ in range(sandboxes)),
                return_exceptions=True,
            )
            created = time.perf_counter() - started
            errors += [f"create: {e}" for e in made if isinstance(e, BaseException)]
            alive = [s for s in made if not isinstance(s, BaseException)]
            await asyncio.gather(*(s.terminate(wait=True) for s in alive), return_exceptions=True)
            print(
                f"[{engine}] {sandboxes} sandboxes created at once in {created:.1f} s; errors {len(errors)}"
            )
            for line in errors[:5]:
                print("   ", line)
            ok &= not errors

            # N PTY sessions typing
            hosts = await asyncio.gather(
                *(client.sandboxes.create(app, image, timeout=600) for _ in range(SANDBOXES_FOR_SESSIONS))
            )
            latencies: list[float] = []
            errors = []
            await asyncio.gather(
                *(session(hosts[i % len(hosts)], seconds, latencies, errors) for i in range(sessions))
            )
            await asyncio.gather(*(s.terminate(wait=True) for s in hosts))
            q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
            print(
                f"[{engine}] {sessions} PTY sessions for {seconds:.0f} s: {len(latencies)} keystrokes, "
                f"echo p50 {statistics.median(latencies):.1f} ms, p99 {q[98]:.1f} ms, "
                f"max {max(latencies):.1f} ms; errors {len(errors)}"
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
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--sandboxes", type=int, default=100)
    args = parser.parse_args()
    engines = ["docker", "podman"] if args.engine == "both" else [args.engine]
    results = [asyncio.run(bench(e, args.sessions, args.seconds, args.sandboxes)) for e in engines]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
