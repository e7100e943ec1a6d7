"""Snapshot time: `sb.snapshot_filesystem()` through sbtui against the raw engine's commit.

For each engine this starts its own `sbtui server`, makes one sandbox through sbtui and one
raw container with the same image and the same files written in them (a few MiB), then
alternates snapshots of each (ours, raw, raw, ours, ...) and prints medians and their ratio.
With --secret the sandbox is created with a secret, whose value its snapshots must not carry:
they are then saved, rewritten and loaded by the engine after the commit (see
DockerRuntime._commit_with_env), and the figures show what that costs.

    .venv/bin/python -m benchmarks.snapshots [--engine podman|docker|both] [--runs 10] [--mib 8] [--secret]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import traceback

import sbtui
from benchmarks.engine_overhead import RawEngine, interleaved, p90
from sbtui.server.runtime.engine import ulimits_of
from tests.servers import IMAGE, ServerProcess, new_state_dir

TARGET = 1.15


async def bench(
    engine: str, runs: int, mib: int, secret: bool
) -> tuple[str, list[float], list[float]] | None:
    server = ServerProcess(engine, new_state_dir(f"bench-{engine}"))
    raw = client = None
    made_images: list[str] = []
    try:
        server.start()
        raw = RawEngine(
            server.engine_url,
            ulimits_of(server.podman_pid) if engine == "podman" else [],
            secrets.token_hex(6),
        )
        version = await raw.prepare()
        client = await sbtui.Client.connect(server.address)
        app = await client.apps.from_name("bench-snapshots", create_if_missing=True)
        given = [await client.secrets.create("bench", {"TOKEN": secrets.token_hex(16)}, overwrite=True)]
        sandbox = await client.sandboxes.create(
            app, client.images.from_registry(IMAGE), timeout=3600, secrets=given if secret else []
        )
        container = await raw.create_and_start()
        fill = ["sh", "-c", f"dd if=/dev/urandom of=/data.bin bs=1M count={mib} 2>/dev/null && echo ok"]
        p = await sandbox.exec(fill)
        assert await p.stdout.read() == b"ok\n"
        assert (await raw.exec(container, fill))[1] == b"ok\n"

        async def ours():
            image = await sandbox.snapshot_filesystem(timeout=300)
            made_images.append(image.tag)
            return _nothing

        async def raw_commit():
            reply = await raw.docker._query_json(
                "commit",
                method="POST",
                data={},
                params={
                    "container": container,
                    "repo": "localhost/sbtui-bench/raw-snapshot",
                    "tag": secrets.token_hex(6),
                    "pause": "true",
                },
            )
            made_images.append(reply["Id"])
            return _nothing

        print(
            f"[{engine}] snapshot of {mib} MiB written{' with a secret' if secret else ''}: "
            f"{runs} runs each, interleaved",
            flush=True,
        )
        pair = await interleaved(runs, 1, ours, raw_commit)
        await sandbox.terminate(wait=True)
        await raw.remove(container)
        return version, pair.ours, pair.raw
    except Exception:
        traceback.print_exc()
        print(server.log_tail(), file=sys.stderr)
        return None
    finally:
        if raw is not None:
            for ref in made_images:
                try:
                    await raw.docker.images.delete(ref, force=True)
                except Exception:
                    pass
            await raw.close()
        if client is not None:
            await client.close()
        server.dispose(tell=True)


async def _nothing() -> None:
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("podman", "docker", "both"), default="both")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--mib", type=int, default=8)
    parser.add_argument("--secret", action="store_true", help="snapshot a sandbox created with a secret")
    args = parser.parse_args()
    engines = ["docker", "podman"] if args.engine == "both" else [args.engine]
    failed = False
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for engine in engines:
        result = asyncio.run(bench(engine, args.runs, args.mib, args.secret))
        if result is None:
            failed = True
            continue
        version, ours, raw = result
        ratio = statistics.median(ours) / statistics.median(raw)
        # With a secret the commit is followed by a save and a load of the image: no target.
        verdict = "" if args.secret else f"(target <= {TARGET}x) {'PASS' if ratio <= TARGET else 'MISS'}"
        secret = ", sandbox with a secret" if args.secret else ""
        print(f"== {engine} {version}: snapshot ({args.mib} MiB written{secret}), times in ms ==")
        print(
            f"   median ours {statistics.median(ours):8.1f}  raw {statistics.median(raw):8.1f}  "
            f"ratio {ratio:.2f}x  {verdict}"
        )
        print(f"   p90    ours {p90(ours):8.1f}  raw {p90(raw):8.1f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
