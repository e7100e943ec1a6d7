"""Keystroke -> echoed character, through the whole dashboard against the raw engine; and keys
and ctrl+c during an output flood.

For each engine this starts its own `sbtui server`, creates one sandbox and opens three PTY
sessions of busybox `sh` in it, used side by side:

* raw        the engine's exec API through aiodocker (exec create with a TTY, attached start):
             write a character to the stream, read the stream until it comes back;
* client     sbtui's client core, `sandbox.exec(["sh"], pty=True)`: write to stdin, read stdout
             until the character comes back (client core, wire and server);
* dashboard  the real dashboard (`SbtuiApp`, headless under Textual's `run_test`) on the same
             server, with a shell opened by the `s` key. The key goes in as the terminal driver
             delivers one, and is timed until the echoed character is in the terminal widget's
             screen AND a frame that repaints its row has been composed and turned into the
             bytes a terminal would get (headless Textual writes them nowhere: that write is
             the only step left out).

Echo: `--samples` characters per side, the sides interleaved (their order rotating) with a
short gap between samples; each character is erased again (backspace, untimed), so every sample
starts from the same empty prompt. Targets (issue 4): dashboard - raw <= 10 ms at p50 and
<= 25 ms at p99.

Flood: `yes`, then `yes | cat` (`--flood CMD` for others), in each session for
`--flood-seconds`, then ctrl+c, timed until the prompt is back (received; for the dashboard also
shown). During the dashboard's flood a key is pressed every 100 ms, timed from its delivery
until the terminal widget hands it to the program: target <= 100 ms. ctrl+c flushes what was
typed into the flood, so the keys never reach the shell. The dashboard's CPU use during its
flood is printed too: on a shared machine a stall with the dashboard well under a core is the
other processes' doing.

    .venv/bin/python -m benchmarks.echo [--engine podman|docker|both] [--samples 200]
        [--floods 5] [--flood-seconds 1] [--flood CMD ...] [--profile-dir DIR]

A MISS is reported, not an error: the exit status is 1 only if something failed.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import statistics
import string
import sys
import time
import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import aiodocker
from textual import events
from textual._compositor import CompositorUpdate

import sbtui
from sbtui.server.runtime.engine_api import API_VERSION
from sbtui.tui.app import SbtuiApp
from sbtui.tui.screens.shell import ShellScreen
from sbtui.tui.terminal.cells import row_text
from tests.servers import IMAGE, ServerProcess, new_state_dir

SIZE = (100, 30)  # the dashboard's window; its terminal gets one row less (the title line)
PTY_SIZE = (SIZE[1] - 1, SIZE[0])
PROMPT = "bench> "
# `yes` writes a line at a time; through `cat` it comes in 4 KiB writes, as fast as the engine
# carries a PTY's output (1-4 MB/s of 2-byte lines here, read raw: the engine's limit).
FLOODS = ["yes", "yes | cat"]
FLOOD_STARTED = 4096  # bytes of output that say the flood is on
GAP = 0.02  # seconds between samples: typing, not a paste
KEY_EVERY = 0.1  # seconds between keys pressed during a flood
TIMEOUT = 10.0  # for any one step: past that the run has failed
NO_KEYS = Path("/nonexistent/sbtui/keys.toml")
TARGETS = {"p50": 10.0, "p99": 25.0, "flood key": 100.0}


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) > 1 else values[0]


class StreamSession(ABC):
    """A PTY session whose output is read in line, as a script would: write, read until."""

    name = ""

    @abstractmethod
    async def send(self, data: bytes) -> None: ...

    @abstractmethod
    async def read(self) -> bytes:
        """Whatever output has arrived; b"" once the session has ended."""

    @abstractmethod
    async def close(self) -> None: ...

    async def read_until(self, pattern: bytes, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        seen = b""
        while pattern not in seen:
            chunk = await asyncio.wait_for(self.read(), max(0.001, deadline - time.monotonic()))
            if not chunk:
                raise RuntimeError(f"{self.name}: the shell ended")
            seen = seen[-len(pattern) :] + chunk

    async def start(self) -> None:
        await self.read_until(b"# ")
        await self.send(f"PS1='{PROMPT}'\r".encode())
        await self.read_until(f"\r\n{PROMPT}".encode())

    async def echo(self, char: str) -> float:
        data = char.encode()
        start = time.perf_counter()
        await self.send(data)
        await self.read_until(data)
        elapsed = time.perf_counter() - start
        await self.send(b"\x7f")
        await self.read_until(b"\x08")  # busybox sh moves back and erases: BS ESC [ J
        return elapsed * 1000

    async def flood(self, command: str, seconds: float) -> Flood:
        result = Flood()
        await self.send(f"{command}\r".encode())
        await self.read_until(b"\r\n")  # the command's echo
        started = 0
        while started < FLOOD_STARTED:
            started += len(await asyncio.wait_for(self.read(), TIMEOUT))
        start = time.perf_counter()
        while (now := time.perf_counter()) - start < seconds:
            chunk = await asyncio.wait_for(self.read(), TIMEOUT)
            if not chunk:
                raise RuntimeError(f"{self.name}: the shell ended during the flood")
            result.flood_bytes += len(chunk)
        result.flood_seconds = now - start
        start = time.perf_counter()
        await self.send(b"\x03")
        await self.read_until(f"\r\n{PROMPT}".encode())
        result.prompt_received = (time.perf_counter() - start) * 1000
        return result


class RawSession(StreamSession):
    name = "raw"

    def __init__(self, docker: aiodocker.Docker, container: str) -> None:
        self.docker = docker
        self.container = container
        self.stream = None

    async def open(self) -> None:
        container = self.docker.containers.container(self.container)
        execution = await container.exec(
            ["sh"], stdin=True, stdout=True, stderr=True, tty=True, environment={"TERM": "xterm-256color"}
        )
        self.stream = execution.start(detach=False)
        await self.start()
        await execution.resize(h=PTY_SIZE[0], w=PTY_SIZE[1])  # once started, as sbtui does

    async def send(self, data: bytes) -> None:
        await self.stream.write_in(data)

    async def read(self) -> bytes:
        message = await self.stream.read_out()
        return b"" if message is None else message.data

    async def close(self) -> None:
        if self.stream is not None:
            await self.stream.close()


class ClientSession(StreamSession):
    name = "client"

    def __init__(self, sandbox) -> None:
        self.sandbox = sandbox
        self.process = None

    async def open(self) -> None:
        self.process = await self.sandbox.exec(["sh"], pty=True, pty_size=PTY_SIZE, term="xterm-256color")
        await self.start()

    async def send(self, data: bytes) -> None:
        self.process.stdin.write(data)
        await self.process.stdin.drain()

    async def read(self) -> bytes:
        return await self.process.stdout.read(65536)

    async def close(self) -> None:
        if self.process is not None:
            await self.process.close()


@dataclass
class Watch:
    """Something to see on the dashboard's terminal: `check(row)` is asked as rows are drawn; the
    first frame out after a row passed resolves `shown` with the time."""

    check: Callable[[int], bool]
    shown: asyncio.Future
    rendered: bool = False


@dataclass
class Flood:
    flood_bytes: int = 0
    flood_seconds: float = 0.0
    prompt_received: float = 0.0  # ms from ctrl+c until the prompt is received
    prompt_shown: float | None = None  # ms until it is on screen (the dashboard)
    ctrl_c_handled: float | None = None  # ms until the widget hands ctrl+c to the program
    keys_handled: list[float] = field(default_factory=list)  # ms, keys pressed during the flood
    cpu: float = 0.0  # this process's CPU seconds per second of the flood (the dashboard's)


class DashboardSession:
    """The dashboard's shell: keys go in through the driver, results are read off the frames."""

    name = "dashboard"

    def __init__(self, ui: SbtuiApp, pilot, sandbox_id: str) -> None:
        self.ui = ui
        self.pilot = pilot
        self.sandbox_id = sandbox_id
        self.terminal = None
        self.watch: Watch | None = None
        self.sent: dict[bytes, asyncio.Future] = {}  # bytes the widget is to hand the program
        self.received: tuple[bytes, asyncio.Future] | None = None  # output to look out for
        self.received_tail = b""
        self.fed = 0

    async def until(self, condition: Callable[[], object], what: str) -> None:
        """Let the app run until `condition()` holds (untimed steps only)."""
        deadline = time.monotonic() + TIMEOUT
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"dashboard: timed out waiting for {what}")
            await asyncio.sleep(0.002)

    async def open(self) -> None:
        ui = self.ui
        await self.until(lambda: ui.store.get(self.sandbox_id), "the sandbox in the list")
        ui.screen.select_sandbox(self.sandbox_id)
        await self.pilot.press("s")
        await self.until(lambda: isinstance(ui.screen, ShellScreen) and ui.sessions.items, "the shell")
        self.terminal = ui.screen.terminal
        self._instrument()
        vt = self.terminal.vt
        await self.until(lambda: row_text(vt.buffer[vt.cursor.y]).rstrip().endswith("#"), "the prompt")
        await self.pilot.press(*f"PS1='{PROMPT}'", "enter")
        await self.until(self._at_prompt, "the new prompt")

    def _at_prompt(self) -> bool:
        vt = self.terminal.vt
        return vt.cursor.x == len(PROMPT) and row_text(vt.buffer[vt.cursor.y]).rstrip() == PROMPT.rstrip()

    def _instrument(self) -> None:
        """Wrap the widget's and the app's own calls to see keys go out, output come in and
        rows reach a frame. Nothing here runs in the widget unless this benchmark put it there."""
        ui, terminal = self.ui, self.terminal

        send = terminal.send

        def traced_send(data: bytes) -> object:
            waiter = self.sent.pop(data, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(time.perf_counter())
            return send(data)

        terminal.send = traced_send

        feed = terminal.feed

        def traced_feed(data: bytes) -> None:
            self.fed += len(data)
            if self.received is not None:
                pattern, waiter = self.received
                seen = self.received_tail + bytes(data)
                if pattern in seen and not waiter.done():
                    waiter.set_result(time.perf_counter())
                self.received_tail = seen[-len(pattern) :]
            feed(data)

        terminal.feed = traced_feed

        render_line = terminal.render_line

        def traced_render_line(y: int):
            strip = render_line(y)
            watch = self.watch
            if watch is not None and not watch.rendered and watch.check(y):
                watch.rendered = True
            return strip

        terminal.render_line = traced_render_line

        display = ui._display

        def traced_display(screen, renderable) -> None:
            display(screen, renderable)
            # What a real driver does with every frame before writing it out: headless Textual
            # skips it, so it is done here, for every frame and not only the timed ones.
            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(ui.console)
            watch = self.watch
            if watch is not None and watch.rendered and not watch.shown.done():
                watch.shown.set_result(time.perf_counter())

        ui._display = traced_display

    def _key(self, key: str, character: str | None) -> float:
        event = events.Key(key, character)
        event.set_sender(self.ui)
        start = time.perf_counter()
        self.ui._driver.send_message(event)
        return start

    def _expect_sent(self, data: bytes) -> asyncio.Future:
        waiter = asyncio.get_running_loop().create_future()
        self.sent[data] = waiter
        return waiter

    def _watch(self, check: Callable[[int], bool]) -> Watch:
        self.watch = Watch(check, asyncio.get_running_loop().create_future())
        return self.watch

    async def echo(self, char: str) -> float:
        vt = self.terminal.vt
        y, x = vt.cursor.y, vt.cursor.x
        watch = self._watch(lambda row: row == y and vt.buffer[y][x][0] == char)
        start = self._key(char, char)
        shown = await asyncio.wait_for(watch.shown, TIMEOUT)
        self.watch = None
        await self.pilot.press("backspace")
        await self.until(lambda: vt.cursor.x == x and vt.buffer[y][x][0] == " ", "the erase")
        return (shown - start) * 1000

    async def flood(self, command: str, seconds: float) -> Flood:
        result = Flood()
        terminal = self.terminal
        await self.pilot.press(*command, "enter")
        fed = self.fed
        await self.until(lambda: self.fed > fed + FLOOD_STARTED, "the flood")
        fed = self.fed
        start, cpu = time.perf_counter(), time.process_time()
        letters = iter(string.ascii_lowercase * 100)
        while (now := time.perf_counter()) - start < seconds:
            char = next(letters)
            handled = self._expect_sent(char.encode())
            pressed = self._key(char, char)
            result.keys_handled.append((await asyncio.wait_for(handled, TIMEOUT) - pressed) * 1000)
            await asyncio.sleep(max(0.0, pressed + KEY_EVERY - time.perf_counter()))
        result.flood_bytes, result.flood_seconds = self.fed - fed, now - start
        result.cpu = (time.process_time() - cpu) / result.flood_seconds

        loop = asyncio.get_running_loop()
        handled = self._expect_sent(b"\x03")
        received = loop.create_future()
        self.received, self.received_tail = (f"\r\n{PROMPT}".encode(), received), b""
        vt = terminal.vt
        watch = self._watch(lambda row: row == vt.cursor.y and terminal.backlog == 0 and self._at_prompt())
        pressed = self._key("ctrl+c", "\x03")
        result.ctrl_c_handled = (await asyncio.wait_for(handled, TIMEOUT) - pressed) * 1000
        result.prompt_received = (await asyncio.wait_for(received, TIMEOUT) - pressed) * 1000
        result.prompt_shown = (await asyncio.wait_for(watch.shown, TIMEOUT) - pressed) * 1000
        self.watch = self.received = None
        return result


# ---- one engine -------------------------------------------------------------------------------


@dataclass
class EngineResult:
    engine: str
    version: str = ""
    load: tuple[float, float] = (0.0, 0.0)
    echo: dict[str, list[float]] = field(default_factory=dict)
    floods: dict[str, dict[str, list[Flood]]] = field(default_factory=dict)  # command -> side
    errors: list[str] = field(default_factory=list)


async def measure(result: EngineResult, sessions: list, args) -> None:
    chars = string.ascii_letters
    for session in sessions:
        result.echo[session.name] = []
    for i in range(args.warmup + args.samples):
        order = sessions[i % len(sessions) :] + sessions[: i % len(sessions)]
        for session in order:
            elapsed = await session.echo(chars[i % len(chars)])
            if i >= args.warmup:
                result.echo[session.name].append(elapsed)
            await asyncio.sleep(GAP)
    for command in args.flood:
        print(f"[{result.engine}] flood `{command}`: {args.floods} rounds per side", flush=True)
        floods = result.floods[command] = {session.name: [] for session in sessions}
        for i in range(args.floods):
            order = sessions[i % len(sessions) :] + sessions[: i % len(sessions)]
            for session in order:
                floods[session.name].append(await session.flood(command, args.flood_seconds))
                await asyncio.sleep(GAP)


async def bench_engine(engine: str, args) -> EngineResult:
    result = EngineResult(engine)
    profile = None
    if args.profile_dir:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
        profile = (args.profile_dir / f"server-{engine}.prof").resolve()
    server = ServerProcess(engine, new_state_dir(f"bench-{engine}"), profile=profile)
    load_start = os.getloadavg()[0]
    docker = None
    sandbox = None
    raw = client_session = None
    try:
        print(f"[{engine}] starting sbtui server (state in {server.state_dir})", flush=True)
        server.start()
        docker = aiodocker.Docker(url=server.engine_url, api_version=API_VERSION)
        version = await docker.version()
        result.version = f"{version.get('Version', '?')} (API {version.get('ApiVersion', '?')})"
        async with sbtui.Client.connect(server.address) as client:
            app = await client.apps.from_name("bench-echo", create_if_missing=True)
            image = await client.images.from_registry(IMAGE).resolve()
            sandbox = await client.sandboxes.create(app, image, timeout=3600)
            try:
                raw = RawSession(docker, f"sbtui-{sandbox.sandbox_id}")
                await raw.open()
                client_session = ClientSession(sandbox)
                await client_session.open()
                ui = SbtuiApp(client=client, keymap_path=NO_KEYS)
                async with ui.run_test(size=SIZE) as pilot:
                    dashboard = DashboardSession(ui, pilot, sandbox.sandbox_id)
                    await dashboard.open()
                    print(f"[{engine}] echo: {args.samples} samples per side, interleaved", flush=True)
                    profiler = cProfile.Profile() if args.profile_dir else None
                    if profiler is not None:
                        profiler.enable()
                    try:
                        await measure(result, [raw, client_session, dashboard], args)
                    finally:
                        if profiler is not None:
                            profiler.disable()
                            profiler.dump_stats(args.profile_dir / f"client-{engine}.prof")
            finally:
                for session in (raw, client_session):
                    if session is not None:
                        await session.close()
                await sandbox.terminate(wait=True)
    except Exception as err:  # a benchmark reports every failure, of any kind
        result.errors.append(f"{type(err).__name__}: {err}")
        traceback.print_exc()
        print(f"[{engine}] server log tail:\n{server.log_tail()}", file=sys.stderr)
    finally:
        if docker is not None:
            await docker.close()
        server.dispose(tell=True)
    result.load = (load_start, os.getloadavg()[0])
    return result


# ---- report -----------------------------------------------------------------------------------


def _verdict(value: float, target: float) -> str:
    return "PASS" if value <= target else "MISS"


def report(result: EngineResult, args) -> None:
    print()
    print(
        f"== {result.engine} {result.version}: {args.samples} echo samples per side, interleaved; "
        f"times in ms =="
    )
    print(
        f"   (1-min load average {result.load[0]:.1f} at start, {result.load[1]:.1f} at end, "
        f"on {os.cpu_count()} CPUs)"
    )
    labels = {
        "raw": "raw engine exec stream",
        "client": "client core (stdout)",
        "dashboard": "dashboard (on screen)",
    }
    echo = result.echo
    if all(echo.get(name) for name in labels):
        print(f"{'key -> echoed character':30}{'p50':>8}{'p99':>8}{'max':>8}")
        for name, label in labels.items():
            values = echo[name]
            print(f"{label:30}{statistics.median(values):8.1f}{p99(values):8.1f}{max(values):8.1f}")
        raw = echo["raw"]
        print(
            f"{'above raw':30}{'p50':>8}{'p99':>8}   targets p50 <= {TARGETS['p50']:.0f}, "
            f"p99 <= {TARGETS['p99']:.0f}"
        )
        for name in ("client", "dashboard"):
            d50 = statistics.median(echo[name]) - statistics.median(raw)
            d99 = p99(echo[name]) - p99(raw)
            print(
                f"{labels[name]:30}{d50:+8.1f}{d99:+8.1f}   "
                f"{_verdict(d50, TARGETS['p50'])} {_verdict(d99, TARGETS['p99'])}"
            )
    for command, floods in result.floods.items():
        if not all(floods.get(name) for name in labels):
            continue
        print(
            f"\nflood: `{command}` for {args.flood_seconds:g} s, then ctrl+c; {args.floods} rounds per side"
        )
        print(f"{'':30}{'p50':>8}{'max':>8}   read during the flood")
        for name in labels:
            rounds = floods[name]
            times = [f.prompt_received for f in rounds]
            rate = sum(f.flood_bytes for f in rounds) / sum(f.flood_seconds for f in rounds) / 1e6
            print(
                f"{'ctrl+c -> prompt, ' + name:30}{statistics.median(times):8.1f}{max(times):8.1f}"
                f"   {rate:.2f} MB/s"
            )
        rounds = floods["dashboard"]
        shown = [f.prompt_shown for f in rounds]
        cpu = statistics.median(f.cpu for f in rounds) * 100
        print(
            f"{'ctrl+c -> prompt on screen':30}{statistics.median(shown):8.1f}{max(shown):8.1f}"
            f"   the dashboard used {cpu:.0f}% of a core"
        )
        target = TARGETS["flood key"]
        handled = [f.ctrl_c_handled for f in rounds]
        print(
            f"{'ctrl+c handled by the widget':30}{statistics.median(handled):8.1f}{max(handled):8.1f}"
            f"   target <= {target:.0f}: {_verdict(max(handled), target)}"
        )
        keys = [k for f in rounds for k in f.keys_handled]
        print(
            f"{'key handled during the flood':30}{statistics.median(keys):8.1f}{max(keys):8.1f}"
            f"   target <= {target:.0f}: {_verdict(max(keys), target)}"
            f" ({len(keys)} keys, p99 {p99(keys):.1f})"
        )
    for error in result.errors:
        print(f"ERROR: {error}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("podman", "docker", "both"), default="both")
    parser.add_argument("--samples", type=int, default=200, help="echo samples per side (default 200)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed samples per side first (default 5)")
    parser.add_argument(
        "--flood",
        action="append",
        help=f"a command that floods the terminal, repeatable (default: "
        f"{' and '.join(repr(c) for c in FLOODS)})",
    )
    parser.add_argument("--floods", type=int, default=5, help="flood rounds per side (default 5)")
    parser.add_argument(
        "--flood-seconds", type=float, default=1.0, help="how long the flood runs before ctrl+c (default 1)"
    )
    parser.add_argument(
        "--profile-dir",
        type=Path,
        help="profile with cProfile: DIR/server-ENGINE.prof (the server) and "
        "DIR/client-ENGINE.prof (this process: client core and dashboard)",
    )
    args = parser.parse_args()
    if args.samples < 2 or args.floods < 1:
        parser.error("--samples must be at least 2 and --floods at least 1")
    args.flood = args.flood or FLOODS
    engines = ["docker", "podman"] if args.engine == "both" else [args.engine]
    results = [asyncio.run(bench_engine(engine, args)) for engine in engines]
    for result in results:
        report(result, args)
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
