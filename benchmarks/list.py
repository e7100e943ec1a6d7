"""The sandbox list with 10,000 sandboxes: filter keystrokes, watch events, memory.

Runs the real dashboard (SbtuiApp, headless, 160x40) on the fixed sample data of
tests.tui.sample (a client that serves N sandboxes over the same watch API), and times:

- a filter keystroke: from the key press (through Textual's key dispatch, the filter Input, the
  parse, the re-filtered rows) to the table's visible lines rendered again, over a typed-then-
  erased filter (`tag:env=prod app:app-03 worker`), so some keystrokes keep 10,000 rows and some
  keep a handful;
- one watch event (a sandbox changes state): store, rows, table, visible lines rendered;
- the first load (N EXISTING events, then SYNCED, to a drawn table), and the process's RSS.

The same operations are timed on Textual's stock DataTable holding the same rows (clear and
re-add the matching rows for a keystroke, `update_cell` for an event), as the library baseline.

    .venv/bin/python -m benchmarks.list [--sandboxes 10000] [--rounds 2] [--baseline-keys 6]

Targets: filter keystroke median and p99 <= 50 ms; RSS <= 150 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import random
import resource
import statistics
import sys
import time
from pathlib import Path

from textual import events
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from sbtui.client import EventKind, SandboxEvent, SandboxState
from sbtui.tui.app import SbtuiApp
from sbtui.tui.columns import COLUMNS
from sbtui.tui.filters import parse_filter, search_text
from tests.tui import sample

SIZE = (160, 40)
FILTER = "tag:env=prod app:app-03 worker"
NO_KEYS = Path("/nonexistent/sbtui/keys.toml")
FILTER_TARGET_MS = 50.0
RSS_TARGET_MB = 150.0


def keystrokes(rounds: int) -> list[str]:
    typed = ["space" if c == " " else c for c in FILTER]
    return (typed + ["backspace"] * len(FILTER)) * rounds


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size in MB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    current = pages * resource.getpagesize() / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return current, peak


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def draw(widget) -> None:
    """What a frame asks of the table: each visible line."""
    for y in range(widget.size.height):
        widget.render_line(y)


async def until(condition, what: str, timeout: float = 120) -> None:
    """Yield to the event loop until `condition()`: the app's tasks run meanwhile."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0)


def key_event(key: str) -> events.Key:
    char = {"space": " ", "backspace": None}.get(key, key)
    return events.Key(key, char)


async def bench_dashboard(count: int, rounds: int) -> dict:
    infos = sample.many(count)
    client = sample.SampleClient(infos)
    ui = SbtuiApp(client=client, clock=sample.clock, keymap_path=NO_KEYS)
    figures: dict = {}
    start = time.perf_counter()
    async with ui.run_test(size=SIZE) as pilot:
        await until(lambda: ui.store.synced and len(ui.screen.rows) == count, "the first load")
        screen = ui.screen
        table = screen.table
        draw(table)
        figures["load_s"] = time.perf_counter() - start
        gc.collect()
        figures["rss_mb"], figures["peak_rss_mb"] = rss_mb()

        await pilot.press("slash")
        samples, shown, text = [], [], ""
        for key in keystrokes(rounds):
            text = text[:-1] if key == "backspace" else text + (" " if key == "space" else key)
            t0 = time.perf_counter()
            # As a terminal's key reaches Textual: through the driver, to the focused Input.
            ui._driver.send_message(key_event(key))
            await until(lambda: screen.rows.filter.text == text, "the filter to apply")
            draw(table)
            samples.append(time.perf_counter() - t0)
            shown.append(len(screen.rows))
            await pilot.pause()  # let the frame and idle work happen outside the timing
        figures["filter_ms"] = [s * 1000 for s in samples]
        figures["rows_range"] = (min(shown), max(shown))
        await pilot.press("enter")

        rng = random.Random(1)
        event_samples = []
        sandboxes = client.sandboxes
        for _ in range(300):
            info = ui.store.sandboxes[rng.choice(infos).sandbox_id]
            state = SandboxState.FINISHED if info.state != SandboxState.FINISHED else SandboxState.RUNNING
            event = SandboxEvent(EventKind.STATE_CHANGED, dataclasses.replace(info, state=state), 0)
            t0 = time.perf_counter()
            sandboxes.events.put_nowait(event)
            # The watch task takes it, the store flushes, the screen re-sorts and redraws.
            # Done when the screen has measured the new row (its first step on a change).
            await until(lambda: table._cells[info.sandbox_id][0] is event.sandbox, "the event")
            draw(table)
            event_samples.append(time.perf_counter() - t0)
            await pilot.pause()
        figures["event_ms"] = [s * 1000 for s in event_samples]
        figures["rss_after_mb"], figures["peak_rss_mb"] = rss_mb()
    return figures


class _Baseline(App):
    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row")


async def bench_datatable(count: int, keys: int) -> dict:
    infos = sample.many(count)
    now = sample.NOW
    cells = {i.sandbox_id: tuple(c.text(i, now) for c in COLUMNS) for i in infos}
    haystacks = {i.sandbox_id: search_text(i) for i in infos}
    app = _Baseline()
    figures: dict = {}
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(DataTable)
        for column in COLUMNS:
            table.add_column(column.label, key=column.key, width=column.max_width)
        start = time.perf_counter()
        for info in infos:
            table.add_row(*cells[info.sandbox_id], key=info.sandbox_id)
        await pilot.pause()
        draw(table)
        figures["load_s"] = time.perf_counter() - start

        typed = keystrokes(1)
        picks = [typed[i] for i in range(0, len(typed), max(1, len(typed) // keys))][:keys]
        text, samples = "", []
        for key in picks:
            text = text[:-1] if key == "backspace" else text + (" " if key == "space" else key)
            t0 = time.perf_counter()
            wanted = parse_filter(text)
            table.clear()
            for info in infos:
                if wanted.matches(info, haystacks[info.sandbox_id]):
                    table.add_row(*cells[info.sandbox_id], key=info.sandbox_id)
            await pilot.pause()  # DataTable measures new rows when idle
            draw(table)
            samples.append(time.perf_counter() - t0)
        figures["filter_ms"] = [s * 1000 for s in samples]

        table.clear()
        for info in infos:
            table.add_row(*cells[info.sandbox_id], key=info.sandbox_id)
        await pilot.pause()
        rng = random.Random(1)
        event_samples = []
        for _ in range(30):
            info = rng.choice(infos)
            t0 = time.perf_counter()
            table.update_cell(info.sandbox_id, "state", "finished (0)")
            await pilot.pause()
            draw(table)
            event_samples.append(time.perf_counter() - t0)
        figures["event_ms"] = [s * 1000 for s in event_samples]
    return figures


def line(name: str, ours: list[float], base: list[float] | None, unit: str = "ms") -> str:
    text = f"  {name:<22} median {statistics.median(ours):7.2f} {unit}   p99 {p99(ours):7.2f} {unit}"
    if base:
        ratio = statistics.median(base) / statistics.median(ours)
        text += f"   | DataTable median {statistics.median(base):8.2f} {unit} ({ratio:.0f}x slower)"
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandboxes", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2, help="times the filter is typed and erased")
    parser.add_argument("--baseline-keys", type=int, default=6, help="keystrokes timed on DataTable (slow)")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()

    ours = asyncio.run(bench_dashboard(args.sandboxes, args.rounds))
    base = None if args.no_baseline else asyncio.run(bench_datatable(args.sandboxes, args.baseline_keys))

    print(f"sandbox list, {args.sandboxes} sandboxes, {SIZE[0]}x{SIZE[1]}, Python {sys.version.split()[0]}")
    print(
        f"  first load             {ours['load_s']:.2f} s"
        + (f"   | DataTable {base['load_s']:.2f} s" if base else "")
    )
    low, high = ours["rows_range"]
    print(
        line(f"filter keystroke (x{len(ours['filter_ms'])})", ours["filter_ms"], base and base["filter_ms"])
    )
    print(f"  {'':<22} rows shown per keystroke: {low} to {high}")
    print(line(f"watch event (x{len(ours['event_ms'])})", ours["event_ms"], base and base["event_ms"]))
    print(
        f"  RSS                    {ours['rss_mb']:.0f} MB after load, "
        f"{ours['rss_after_mb']:.0f} MB at the end, "
        f"peak {ours['peak_rss_mb']:.0f} MB (measured before the DataTable baseline runs)"
    )
    ok_filter = (
        statistics.median(ours["filter_ms"]) <= FILTER_TARGET_MS
        and p99(ours["filter_ms"]) <= FILTER_TARGET_MS
    )
    ok_rss = ours["rss_after_mb"] <= RSS_TARGET_MB
    print(
        f"  targets: filter <= {FILTER_TARGET_MS:.0f} ms {'met' if ok_filter else 'MISSED'}; "
        f"RSS <= {RSS_TARGET_MB:.0f} MB {'met' if ok_rss else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
