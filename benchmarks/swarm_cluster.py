"""The test swarm's cost (tests/swarm_cluster.py): how long a 3-node cluster takes to come up
(network, two worker engines, swarm init and joins, 3 nodes Ready and labelled, the test image
on each worker, the TLS registry) and to be torn down, each step timed, over N cycles. Each
teardown must leave nothing on the machine.

    .venv/bin/python -m benchmarks.swarm_cluster [--runs 5]

Exit code 1 if a cycle failed or left something behind.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import traceback
from collections import defaultdict

from tests.swarm_cluster import STATE_FILE, SwarmCluster

# The steps timed inside start() and stop(), by method.
STEPS = [
    "_make_network",
    "_init_swarm",
    "_join",
    "_copy_image",
    "wait_ready",
    "_label_nodes",
    "_start_registry",
    "_remove_services",
    "_stop_worker",
    "_leave_on_host",
    "_remove_namespaces",
    "_remove_network",
]


def timed_steps(spent: dict[str, list[float]]) -> None:
    """Wrap each step so that its wall time (summed within one cycle) goes into `spent`."""
    for name in STEPS:
        method = getattr(SwarmCluster, name)

        def wrapper(self, *args, _method=method, _name=name):
            started = time.monotonic()
            try:
                return _method(self, *args)
            finally:
                spent[_name].append(time.monotonic() - started)

        setattr(SwarmCluster, name, wrapper)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if STATE_FILE.exists():
        print(f"a test swarm cluster is up ({STATE_FILE}): tear it down first", file=sys.stderr)
        return 1
    spent: dict[str, list[float]] = defaultdict(list)
    timed_steps(spent)
    up, down, failed = [], [], 0
    for run in range(args.runs):
        cluster = SwarmCluster()
        try:
            started = time.monotonic()
            cluster.start()
            up.append(time.monotonic() - started)
            started = time.monotonic()
            cluster.stop()
            down.append(time.monotonic() - started)
            left = cluster.leftovers()
            if left:
                failed += 1
                print(f"run {run + 1}: left {left}", file=sys.stderr)
        except Exception:
            failed += 1
            traceback.print_exc()
            cluster.stop()
    print(f"{len(up)} cycles of a 3-node swarm: median (min-max) seconds")
    for what, figures in [("up", up), ("down", down)]:
        if figures:
            print(f"  {what:5} {statistics.median(figures):5.2f} ({min(figures):.2f}-{max(figures):.2f})")
    cycles = max(len(up), 1)
    print("  steps: mean seconds per cycle (a step run for each worker counts each; those run side by side)")
    for name in STEPS:
        if spent[name]:
            print(f"    {name:18} {sum(spent[name]) / cycles:5.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
