"""What sbtui adds on top of the container engine it drives.

For each engine, this starts its own `sbtui server` and talks to the same engine directly
(aiodocker on the same socket), then times, interleaving sbtui and raw runs so noise hits both:

- create -> running: `client.sandboxes.create(app, image)` against container create + start
  of the very container sbtui made for such a sandbox (its config and host config as the engine
  reports them: limits, hardening, ulimits), with labels of the same kind, on a bridge network of
  the raw side's own as an environment's network is;
- exec `true` -> exit code: `sb.exec(["true"])` + `wait()` against exec create, attached
  start read to EOF, and exec inspect;
- N sandboxes created, exec'd (`echo ok`) and terminated concurrently through sbtui, with the
  same done on the raw engine for reference.

    .venv/bin/python -m benchmarks.engine_overhead [--engine podman|docker|both] [--runs 20]
        [--concurrent 50] [--warmup 2] [--profile-dir DIR] [--keep-state]

It exits 0 when a target is missed (it measures, it doesn't judge) and 1 when anything errored.
With --profile-dir the server runs under cProfile (its timings then mean little): the profile is
written to DIR/server-ENGINE.prof when the server stops.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable

import aiodocker
from aiodocker.exceptions import DockerError

import sbtui
from sbtui.client import SandboxState
from sbtui.server.creation import DEFAULT_COMMAND
from sbtui.server.runtime.engine import ulimits_of
from sbtui.server.runtime.engine_api import API_VERSION
from sbtui.server.runtime.hijack import HijackedStream
from tests.servers import IMAGE, ServerProcess, new_state_dir

TARGETS = {"create": 1.15, "exec": 1.30}
GONE_TIMEOUT = 30.0


# ---- the raw engine -----------------------------------------------------------------------


class RawEngine:
    """The same engine, driven directly: what sbtui's runtime would do with nothing around it."""

    def __init__(self, url: str, ulimits: list[dict], run_token: str) -> None:
        self.url = url
        self.ulimits = ulimits
        self.run_token = run_token
        self.docker = aiodocker.Docker(url=url, api_version=API_VERSION)
        self.image_id = ""
        self.template: dict | None = None  # what sbtui made for a default sandbox (copy_of)
        self.network = f"sbtui-bench-net-{run_token}"
        self.extra_inspects = 0  # exec inspects that still said Running after the stream ended
        self.made: set[str] = set()  # containers not yet removed, removed at close at the latest

    async def prepare(self) -> str:
        self.image_id = (await self.docker.images.inspect(IMAGE))["Id"]
        version = await self.docker.version()
        return f"{version.get('Version', '?')} (API {version.get('ApiVersion', '?')})"

    async def copy_of(self, container_id: str) -> None:
        """From now on make what sbtui made for `container_id`: its config and host config as the
        engine reports them, on a bridge network of this side's own (sbtui's sandboxes are on
        their environment's), under labels of the same shape but not sbtui's (the server never
        adopts or removes these)."""
        data = await self.docker.containers.container(container_id).show()
        config, host = data["Config"], dict(data["HostConfig"])
        await self.docker.networks.create(
            {"Name": self.network, "Driver": "bridge", "Labels": {"io.sbtui.bench": self.run_token}}
        )
        host["NetworkMode"] = self.network
        # Podman reports its ulimits as RLIMIT_NOFILE and takes them back only as nofile.
        host["Ulimits"] = [
            u | {"Name": u["Name"].lower().removeprefix("rlimit_")} for u in host.get("Ulimits") or []
        ]
        keys = ("Image", "Cmd", "Entrypoint", "Env", "WorkingDir", "User", "Tty", "OpenStdin", "StopSignal")
        self.template = {key: config.get(key) for key in keys} | {"HostConfig": host}

    async def create_and_start(self) -> str:
        # Before copy_of (and in the benchmarks that use no copy): a bare container of the same
        # image, command and explicit ulimits.
        host: dict = {"Init": False, "Ulimits": self.ulimits}
        bare = {"Image": self.image_id, "Cmd": list(DEFAULT_COMMAND), "HostConfig": host}
        config = (self.template or bare) | {
            "Labels": {
                "io.sbtui.bench": self.run_token,
                "io.sbtui.bench.sandbox": "sb-" + secrets.token_hex(8),
                "io.sbtui.bench.app": "ap-bench",
            }
        }
        name = f"sbtui-bench-raw-{secrets.token_hex(8)}"
        container = await self.docker.containers.create(config, name=name)
        self.made.add(container.id)
        await container.start()
        return container.id

    async def remove(self, container_id: str) -> None:
        try:
            await self.docker.containers.container(container_id).delete(force=True, v=True)
        except DockerError as err:
            if not _gone(err):
                raise
        self.made.discard(container_id)

    async def exec(self, container_id: str, command: list[str]) -> tuple[int, bytes]:
        created = await self.docker._query_json(
            f"containers/{container_id}/exec",
            method="POST",
            data={"AttachStdout": True, "AttachStderr": True, "Tty": False, "Cmd": command},
        )
        exec_id = created["Id"]
        stream = await HijackedStream.start(
            self.url, f"/{API_VERSION}/exec/{exec_id}/start", {"Detach": False, "Tty": False}, False
        )
        out = b""
        try:
            while (chunk := await stream.read()) is not None:
                if chunk[0] == 1:
                    out += chunk[1]
        finally:
            await stream.close()
        # The stream can end a moment before the engine records the exit: ask again at once.
        while True:
            info = await self.docker.containers.exec(exec_id).inspect()
            if not info.get("Running"):
                code = info.get("ExitCode")
                return (int(code) if code is not None else -1), out
            self.extra_inspects += 1

    async def exists(self, name_or_id: str) -> bool:
        try:
            await self.docker.containers.container(name_or_id).show()
        except DockerError as err:
            if _gone(err):
                return False
            raise
        return True

    async def wait_gone(self, name_or_id: str) -> bool:
        """Wait until the container is removed; remove it ourselves after GONE_TIMEOUT."""
        deadline = time.monotonic() + GONE_TIMEOUT
        while await self.exists(name_or_id):
            if time.monotonic() > deadline:
                await self.remove(name_or_id)
                return False
            await asyncio.sleep(0.02)
        return True

    async def close(self) -> None:
        """Remove the containers a failed run left, then close the connection."""
        try:
            for cid in list(self.made):
                print(f"cleanup: removing leftover raw container {cid[:12]}", file=sys.stderr)
                await self.remove(cid)
            if self.template is not None:
                await (await self.docker.networks.get(self.network)).delete()
        finally:
            await self.docker.close()


def _gone(err: DockerError) -> bool:
    # Podman answers 500 "no such container" for a container removed while it was looked up.
    return err.status == 404 or "no such container" in str(err.message).lower()


# ---- measuring ------------------------------------------------------------------------------


@dataclass
class Pair:
    ours: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[8] if len(values) > 1 else values[0]


async def interleaved(
    runs: int,
    warmup: int,
    ours: Callable[[], Awaitable[Callable[[], Awaitable[None]]]],
    raw: Callable[[], Awaitable[Callable[[], Awaitable[None]]]],
) -> Pair:
    """Alternate ours and raw (AB, BA, AB...); each step times its own work and returns cleanup."""
    pair = Pair()

    async def once(step, into: list[float] | None) -> None:
        start = time.perf_counter()
        cleanup = await step()
        elapsed = time.perf_counter() - start
        await cleanup()  # never timed
        if into is not None:
            into.append(elapsed * 1000)

    for i in range(warmup + runs):
        timed = i >= warmup
        order = [(ours, pair.ours), (raw, pair.raw)]
        if i % 2:
            order.reverse()
        for step, into in order:
            await once(step, into if timed else None)
    return pair


@dataclass
class Concurrency:
    n: int
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(self.phases.values())


async def _phase(result: Concurrency, name: str, coros) -> list:
    start = time.perf_counter()
    outcomes = await asyncio.gather(*coros, return_exceptions=True)
    result.phases[name] = time.perf_counter() - start
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            result.errors.append(f"{name}: {type(outcome).__name__}: {outcome}")
    return outcomes


async def sbtui_at_once(client, app, image, n: int, created=None) -> tuple[Concurrency, list]:
    """N sandboxes created at once, then each exec'd (`echo ok`), then all terminated, each
    phase timed; `created(sandboxes)` is awaited between the creates and the execs, untimed.
    Returns the figures and the sandboxes."""
    result = Concurrency(n)
    made = await _phase(
        result, "create", [client.sandboxes.create(app, image, timeout=600) for _ in range(n)]
    )
    sandboxes = [sb for sb in made if not isinstance(sb, BaseException)]
    for sb in sandboxes:
        if sb.info.state != SandboxState.RUNNING:
            result.errors.append(f"create: sandbox {sb.sandbox_id} is {sb.info.state}, not running")
    if created is not None:
        await created(sandboxes)

    async def echo(sb) -> None:
        p = await sb.exec(["echo", "ok"])
        out, code = await p.stdout.read(), await p.wait()
        await p.close()
        if (out, code) != (b"ok\n", 0):
            raise AssertionError(f"sandbox {sb.sandbox_id}: echo ok gave {out!r}, exit code {code}")

    await _phase(result, "exec", [echo(sb) for sb in sandboxes])
    await _phase(result, "terminate", [sb.terminate(wait=True) for sb in sandboxes])
    return result, sandboxes


async def concurrency_ours(client, app, image, raw: RawEngine, n: int) -> Concurrency:
    result, sandboxes = await sbtui_at_once(client, app, image, n)
    for sb in sandboxes:  # cleanup, not timed: the server removes containers after their exit
        await raw.wait_gone(f"sbtui-{sb.sandbox_id}")
    return result


async def concurrency_raw(raw: RawEngine, n: int) -> Concurrency:
    result = Concurrency(n)
    made = await _phase(result, "create", [raw.create_and_start() for _ in range(n)])
    ids = [cid for cid in made if isinstance(cid, str)]

    async def echo(cid: str) -> None:
        code, out = await raw.exec(cid, ["echo", "ok"])
        if (out, code) != (b"ok\n", 0):
            raise AssertionError(f"container {cid[:12]}: echo ok gave {out!r}, exit code {code}")

    await _phase(result, "exec", [echo(cid) for cid in ids])
    await _phase(result, "terminate", [raw.remove(cid) for cid in ids])
    return result


# ---- one engine -----------------------------------------------------------------------------


@dataclass
class EngineResult:
    engine: str
    version: str = ""
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average at start and at end
    create: Pair | None = None
    exec: Pair | None = None
    extra_inspects: int = 0
    concurrent: Concurrency | None = None
    concurrent_raw: Concurrency | None = None
    errors: list[str] = field(default_factory=list)


async def bench_engine(engine: str, args) -> EngineResult:
    result = EngineResult(engine)
    profile = None
    if args.profile_dir:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
        profile = (args.profile_dir / f"server-{engine}.prof").resolve()
    server = ServerProcess(
        engine, new_state_dir(f"bench-{engine}"), profile=profile, keep_state=args.keep_state
    )
    raw: RawEngine | None = None
    client = None
    run_token = secrets.token_hex(6)
    load_start = os.getloadavg()[0]
    try:
        print(f"[{engine}] starting sbtui server (state in {server.state_dir})", flush=True)
        server.start()
        ulimits = ulimits_of(server.podman_pid) if engine == "podman" else []
        raw = RawEngine(server.engine_url, ulimits, run_token)
        result.version = await raw.prepare()
        client = await sbtui.Client.connect(server.address)
        app = await client.apps.from_name("bench", create_if_missing=True)
        image = await client.images.from_registry(IMAGE).resolve()

        # One sandbox (and one raw container) lives through the timed runs, as in an environment
        # in use: its network is there already. The first sandbox of an empty environment also
        # pays for making its network (75 ms on Docker), which the raw side never would.
        sandbox = await client.sandboxes.create(app, image, timeout=3600)
        await raw.copy_of(f"sbtui-{sandbox.sandbox_id}")
        container = await raw.create_and_start()
        try:
            # create -> running
            async def ours_create():
                sb = await client.sandboxes.create(app, image, timeout=600)
                if sb.info.state != SandboxState.RUNNING:
                    raise AssertionError(f"sandbox {sb.sandbox_id} came back {sb.info.state}")

                async def cleanup():
                    await sb.terminate(wait=True)
                    await raw.wait_gone(f"sbtui-{sb.sandbox_id}")

                return cleanup

            async def raw_create():
                cid = await raw.create_and_start()
                return lambda: raw.remove(cid)

            print(f"[{engine}] create -> running: {args.runs} runs each, interleaved", flush=True)
            result.create = await interleaved(args.runs, args.warmup, ours_create, raw_create)

            # exec true -> exit
            async def ours_exec():
                p = await sandbox.exec(["true"])
                code = await p.wait()
                if code != 0:
                    raise AssertionError(f"sbtui exec true exited {code}")
                return p.close

            async def raw_exec():
                code, _ = await raw.exec(container, ["true"])
                if code != 0:
                    raise AssertionError(f"raw exec true exited {code}")
                return _nothing

            print(f"[{engine}] exec true -> exit: {args.runs} runs each, interleaved", flush=True)
            before = raw.extra_inspects
            result.exec = await interleaved(args.runs, args.warmup + 1, ours_exec, raw_exec)
            result.extra_inspects = raw.extra_inspects - before
        finally:
            await sandbox.terminate(wait=True)
            await raw.wait_gone(f"sbtui-{sandbox.sandbox_id}")
            await raw.remove(container)

        if args.concurrent > 0:
            print(f"[{engine}] {args.concurrent} concurrent sandboxes through sbtui", flush=True)
            result.concurrent = await concurrency_ours(client, app, image, raw, args.concurrent)
            print(f"[{engine}] {args.concurrent} concurrent containers on the raw engine", flush=True)
            result.concurrent_raw = await concurrency_raw(raw, args.concurrent)
    except Exception as err:
        result.errors.append(f"{type(err).__name__}: {err}")
        traceback.print_exc()
        print(f"[{engine}] server log tail:\n{server.log_tail()}", file=sys.stderr)
    finally:
        if client is not None:
            await client.close()
        if raw is not None:
            await raw.close()
        server.dispose(tell=True)
    result.load = (load_start, os.getloadavg()[0])
    return result


async def _nothing() -> None:
    return None


# ---- report ---------------------------------------------------------------------------------


def report(result: EngineResult, runs: int) -> None:
    print()
    print(f"== {result.engine} {result.version}: {runs} runs each, interleaved; times in ms ==")
    print(
        f"   (1-min load average {result.load[0]:.1f} at start, {result.load[1]:.1f} at end, "
        f"on {os.cpu_count()} CPUs; it counts this run's containers and any other work)"
    )
    header = f"{'':26}{'ours':>9}{'raw':>9}{'ratio':>8}  {'target':>8}"
    print(header)
    for key, label, pair in (
        ("create", "create -> running", result.create),
        ("exec", "exec true -> exit", result.exec),
    ):
        if not pair or not pair.ours or not pair.raw:
            print(f"{label:26}{'-':>9}{'-':>9}{'-':>8}  {'':>8}  (not measured)")
            continue
        target = TARGETS[key]
        for stat, fn in (("median", statistics.median), ("p90", p90)):
            ours, raw = fn(pair.ours), fn(pair.raw)
            ratio = ours / raw
            verdict = ("PASS" if ratio <= target else "MISS") if stat == "median" else ""
            goal = f"<={target:.2f}x" if stat == "median" else ""
            name = label if stat == "median" else ""
            print(f"{name:19}{stat:>7}{ours:9.1f}{raw:9.1f}{ratio:7.2f}x  {goal:>8}  {verdict}".rstrip())
    if result.exec is not None:
        print(
            f"  (raw exec: {result.extra_inspects} extra exec inspects over all raw runs, "
            f"as the exit was not yet recorded when the stream ended)"
        )
    for name, conc in (("sbtui", result.concurrent), ("raw", result.concurrent_raw)):
        if conc is None:
            continue
        phases = ", ".join(f"{k} {v:.2f} s" for k, v in conc.phases.items())
        print(
            f"concurrency {name:5}: {conc.n} x (create, exec echo ok, terminate): "
            f"total {conc.total:.2f} s ({phases}); errors {len(conc.errors)}"
        )
        for error in conc.errors:
            print(f"    error: {error}")
    if result.concurrent and result.concurrent_raw and result.concurrent_raw.total:
        print(f"concurrency ratio ours/raw: {result.concurrent.total / result.concurrent_raw.total:.2f}x")
    for error in result.errors:
        print(f"ERROR: {error}")


def failed(result: EngineResult) -> bool:
    conc_errors = sum(len(c.errors) for c in (result.concurrent, result.concurrent_raw) if c)
    return bool(result.errors) or conc_errors > 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("podman", "docker", "both"), default="both")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per side (default 20)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per side first (default 2)")
    parser.add_argument(
        "--concurrent", type=int, default=50, help="sandboxes in the concurrency run (default 50; 0 skips it)"
    )
    parser.add_argument(
        "--profile-dir", type=Path, help="run the server under cProfile, writing DIR/server-ENGINE.prof"
    )
    parser.add_argument("--keep-state", action="store_true", help="keep the servers' state dirs")
    args = parser.parse_args()
    if args.runs < 2:
        parser.error("--runs must be at least 2")
    engines = ["docker", "podman"] if args.engine == "both" else [args.engine]
    results = [asyncio.run(bench_engine(engine, args)) for engine in engines]
    for result in results:
        report(result, args.runs)
    return 1 if any(failed(r) for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
