"""What a tunnel costs: throughput and connect latency through TCP and TLS tunnels, against a
direct connection from this host to the same server process inside the sandbox.

For each engine this starts its own `sbtui server` and one sandbox whose main command serves,
with busybox `nc -ll` (a process per connection, the same for every path):

- a source on 9000 (`dd` of N MiB from /dev/zero): download throughput, connect to EOF;
- a sink on 9001 (`dd` of N MiB to /dev/null, then `ok`): upload throughput, connect to the `ok`;
- a greeter on 9002 (`echo x`): connect latency, connect (and TLS handshake) to the first byte.

Each is reached three ways, interleaved with the order rotated every round so noise hits all:
directly at the container's address on the engine's network (looked up with the engine API),
through the plain TCP tunnel, and through the TLS tunnel (verified against the server's CA).

    .venv/bin/python -m benchmarks.tunnels [--engine podman|docker|both] [--mib 64] [--runs 5]
        [--connects 30] [--warmup 1] [--keep-state]

Throughput ratios are tunnel/direct (1.00 = as fast as direct, lower is slower); latency ratios
are tunnel/direct (1.00 = as quick, higher is slower). Exits 1 only if something errored.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import statistics
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import sbtui
from benchmarks.engine_overhead import p90
from sbtui.server.runtime.docker import DockerRuntime
from tests.servers import IMAGE, ServerProcess, new_state_dir

SOURCE, SINK, GREETER = 9000, 9001, 9002
PATHS = ("direct", "tcp", "tls")
READ = 1024 * 1024
CHUNK = b"\0" * (256 * 1024)
STEP_TIMEOUT = 120.0


def sandbox_command(mib: int) -> list[str]:
    return [
        "sh",
        "-c",
        " ".join(
            [
                f"nc -ll -p {SOURCE} -e sh -c 'dd if=/dev/zero bs=1048576 count={mib} 2>/dev/null' &",
                f"nc -ll -p {SINK} -e sh -c 'dd of=/dev/null bs=1048576 count={mib} iflag=fullblock "
                "2>/dev/null; echo ok' &",
                f"nc -ll -p {GREETER} -e echo x &",
                "wait",
            ]
        ),
    ]


@dataclass
class Endpoints:
    """(host, port, ssl context or None) per path, per container port."""

    by_path: dict[str, dict[int, tuple[str, int, ssl.SSLContext | None]]] = field(default_factory=dict)

    async def open(self, path: str, port: int):
        host, tunnel_port, context = self.by_path[path][port]
        return await asyncio.open_connection(host, tunnel_port, ssl=context, limit=READ)


async def download(endpoints: Endpoints, path: str, size: int) -> float:
    """Seconds from connect to EOF of `size` bytes."""
    start = time.perf_counter()
    reader, writer = await endpoints.open(path, SOURCE)
    got = 0
    try:
        while chunk := await reader.read(READ):
            got += len(chunk)
    finally:
        writer.close()
    elapsed = time.perf_counter() - start
    if got != size:
        raise AssertionError(f"{path}: downloaded {got} bytes, expected {size}")
    return elapsed


async def upload(endpoints: Endpoints, path: str, size: int) -> float:
    """Seconds from connect until the sink has counted `size` bytes and said so."""
    start = time.perf_counter()
    reader, writer = await endpoints.open(path, SINK)
    try:
        sent = 0
        while sent < size:
            piece = CHUNK[: min(len(CHUNK), size - sent)]
            writer.write(piece)
            await writer.drain()
            sent += len(piece)
        answer = await reader.readline()
    finally:
        writer.close()
    elapsed = time.perf_counter() - start
    if answer != b"ok\n":
        raise AssertionError(f"{path}: the sink answered {answer!r} after {size} bytes")
    return elapsed


async def first_byte(endpoints: Endpoints, path: str) -> float:
    """Seconds from connect (and handshake) to the first byte of the greeting."""
    start = time.perf_counter()
    reader, writer = await endpoints.open(path, GREETER)
    try:
        data = await reader.read(1)
    finally:
        writer.close()
    elapsed = time.perf_counter() - start
    if data != b"x":
        raise AssertionError(f"{path}: the greeter sent {data!r}")
    return elapsed


async def interleaved(
    rounds: int, warmup: int, step: Callable[[str], Awaitable[float]]
) -> dict[str, list[float]]:
    """Every round runs each path once, the order rotated per round; warmup rounds untimed."""
    times: dict[str, list[float]] = {p: [] for p in PATHS}
    for i in range(warmup + rounds):
        shift = i % len(PATHS)
        for path in PATHS[shift:] + PATHS[:shift]:
            elapsed = await asyncio.wait_for(step(path), STEP_TIMEOUT)
            if i >= warmup:
                times[path].append(elapsed)
    return times


@dataclass
class EngineResult:
    engine: str
    version: str = ""
    mib: int = 0
    download: dict[str, list[float]] = field(default_factory=dict)
    upload: dict[str, list[float]] = field(default_factory=dict)
    connect: dict[str, list[float]] = field(default_factory=dict)
    load: tuple[float, float] = (0.0, 0.0)
    errors: list[str] = field(default_factory=list)


async def bench_engine(engine: str, args) -> EngineResult:
    result = EngineResult(engine, mib=args.mib)
    server = ServerProcess(engine, new_state_dir(f"bench-{engine}"), keep_state=args.keep_state)
    runtime: DockerRuntime | None = None
    client = None
    load_start = os.getloadavg()[0]
    try:
        print(f"[{engine}] starting sbtui server (state in {server.state_dir})", flush=True)
        server.start()
        runtime = DockerRuntime(server.engine_url, engine)
        result.version = await runtime.version()
        client = await sbtui.Client.connect(server.address)
        app = await client.apps.from_name("bench-tunnels", create_if_missing=True)
        sb = await client.sandboxes.create(
            app,
            client.images.from_registry(IMAGE),
            command=sandbox_command(args.mib),
            unencrypted_ports=[SOURCE, SINK, GREETER],
            timeout=3600,
        )
        try:
            tunnels = await sb.tunnels(timeout=60)
            address = await runtime.container_address(f"sbtui-{sb.sandbox_id}")
            if not address:
                raise RuntimeError(f"sandbox {sb.sandbox_id} has no address on the engine's network")
            context = ssl.create_default_context(cadata=await client.ca_certificate())
            endpoints = Endpoints(
                {
                    "direct": {p: (address, p, None) for p in tunnels},
                    "tcp": {p: (*t.tcp_socket(), None) for p, t in tunnels.items()},
                    "tls": {p: (*t.tls_socket(), context) for p, t in tunnels.items()},
                }
            )
            size = args.mib * 1024 * 1024
            print(f"[{engine}] download {args.mib} MiB: {args.runs} runs per path", flush=True)
            result.download = await interleaved(
                args.runs, args.warmup, lambda p: download(endpoints, p, size)
            )
            print(f"[{engine}] upload {args.mib} MiB: {args.runs} runs per path", flush=True)
            result.upload = await interleaved(args.runs, args.warmup, lambda p: upload(endpoints, p, size))
            print(f"[{engine}] connect to first byte: {args.connects} runs per path", flush=True)
            result.connect = await interleaved(
                args.connects, args.warmup + 2, lambda p: first_byte(endpoints, p)
            )
        finally:
            await sb.terminate(wait=True)
    except Exception as err:
        result.errors.append(f"{type(err).__name__}: {err}")
        traceback.print_exc()
        print(f"[{engine}] server log tail:\n{server.log_tail()}", file=sys.stderr)
    finally:
        if client is not None:
            await client.close()
        if runtime is not None:
            await runtime.close()
        server.dispose(tell=True)
    result.load = (load_start, os.getloadavg()[0])
    return result


# ---- report ---------------------------------------------------------------------------------


def report(result: EngineResult, args) -> None:
    print()
    print(
        f"== {result.engine} {result.version}: {args.mib} MiB x {args.runs} runs, "
        f"{args.connects} connects per path, interleaved =="
    )
    print(
        f"   (1-min load average {result.load[0]:.1f} at start, {result.load[1]:.1f} at end, "
        f"on {os.cpu_count()} CPUs)"
    )
    print(f"{'':30}{'direct':>9}{'tcp':>9}{'tls':>9}{'tcp/direct':>12}{'tls/direct':>12}")
    for label, times in (("download MiB/s", result.download), ("upload MiB/s", result.upload)):
        if not all(times.get(p) for p in PATHS):
            print(f"{label:30}  (not measured)")
            continue
        for stat, fn in (("median", statistics.median), ("worst", max)):
            # The slowest run gives the lowest throughput, hence max of the times.
            rate = {p: args.mib / fn(times[p]) for p in PATHS}
            name = f"{label} {stat}"
            print(
                f"{name:30}{rate['direct']:9.0f}{rate['tcp']:9.0f}{rate['tls']:9.0f}"
                f"{rate['tcp'] / rate['direct']:11.2f}x{rate['tls'] / rate['direct']:11.2f}x"
            )
    times = result.connect
    if all(times.get(p) for p in PATHS):
        for stat, fn in (("median", statistics.median), ("p90", p90)):
            ms = {p: fn(times[p]) * 1000 for p in PATHS}
            name = f"connect+first byte ms {stat}"
            print(
                f"{name:30}{ms['direct']:9.2f}{ms['tcp']:9.2f}{ms['tls']:9.2f}"
                f"{ms['tcp'] / ms['direct']:11.2f}x{ms['tls'] / ms['direct']:11.2f}x"
            )
    else:
        print(f"{'connect+first byte ms':30}  (not measured)")
    print("   throughput: tunnel/direct, lower is slower; latency: tunnel/direct, higher is slower;")
    print("   tls includes the TLS handshake and encryption the tunnel adds (direct is plain TCP)")
    for error in result.errors:
        print(f"ERROR: {error}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("podman", "docker", "both"), default="both")
    parser.add_argument("--mib", type=int, default=64, help="MiB per throughput run (default 64)")
    parser.add_argument("--runs", type=int, default=5, help="throughput runs per path (default 5)")
    parser.add_argument(
        "--connects", type=int, default=30, help="connect latency runs per path (default 30, at least 20)"
    )
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    parser.add_argument("--keep-state", action="store_true", help="keep the servers' state dirs")
    args = parser.parse_args()
    if args.runs < 1 or args.mib < 1:
        parser.error("--runs and --mib must be at least 1")
    if args.connects < 20:
        parser.error("--connects must be at least 20")
    engines = ["podman", "docker"] if args.engine == "both" else [args.engine]
    results = [asyncio.run(bench_engine(engine, args)) for engine in engines]
    for result in results:
        report(result, args)
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
