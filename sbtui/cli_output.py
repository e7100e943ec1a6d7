"""What the scriptable verbs print: aligned tables for people, JSON for programs.

Whatever people read goes through `printable` (sbtui.printable): names, tags, keys and messages
come from tenants, registries and engines. JSON is left exact (its encoder escapes every
control character already).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Callable, Iterable, Sequence

from sbtui.client import App, SandboxInfo, SandboxState, TerminationReason
from sbtui.printable import printable

SANDBOX_COLUMNS = ("ID", "NAME", "APP", "IMAGE", "STATE", "AGE", "TAGS")
APP_COLUMNS = ("NAME", "ID", "ENVIRONMENT")


def line(text: str, file=None) -> None:
    """One line for people (stdout unless `file`), escaped."""
    print(printable(text), file=file)


def print_table(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    rows = [list(columns)] + [[printable(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)]
        print("  ".join(cells).rstrip())


def print_listing(
    as_json: bool, items: Iterable[Any], to_json: Callable[[Any], Any],
    columns: Sequence[str], to_row: Callable[[Any], Sequence[str]],
) -> None:
    """What every `list` verb prints: JSON Lines with --json, else an aligned table."""
    if as_json:
        for item in items:
            print_json(to_json(item))
    else:
        print_table(columns, map(to_row, items))


def print_json(value: Any) -> None:
    """One value on one line, so a list of them is JSON Lines (`jq` reads it as a stream)."""
    print(json.dumps(value, sort_keys=True))


def age(since: float, now: float | None = None) -> str:
    """'42s', '5m', '3h', '2d': the largest unit, like kubectl."""
    elapsed = max(0, int((now or time.time()) - since))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if elapsed >= size:
            return f"{elapsed // size}{unit}"
    return f"{elapsed}s"


def format_tags(tags: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(tags.items())) or "-"


def state_text(info: SandboxInfo) -> str:
    if info.state == SandboxState.FINISHED and info.exit_code is not None:
        return f"finished ({info.exit_code})"
    return str(info.state)


def sandbox_row(info: SandboxInfo) -> list[str]:
    return [
        info.sandbox_id, info.name or "-", info.app_name, info.image_tag or info.image_id,
        state_text(info), age(info.created_at), format_tags(info.tags),
    ]


def app_row(app: App) -> list[str]:
    return [app.name, app.app_id, app.environment]


def sandbox_json(info: SandboxInfo) -> dict[str, Any]:
    """A sandbox for programs: ids, state, times (Unix seconds) and resources; never env values."""
    params = info.params
    reason = info.termination_reason
    return {
        "sandbox_id": info.sandbox_id, "name": info.name or None, "app_id": info.app_id,
        "app_name": info.app_name, "environment": info.environment, "image_id": info.image_id,
        "image_tag": info.image_tag, "state": str(info.state), "exit_code": info.exit_code,
        "termination_reason": None if reason == TerminationReason.NONE else str(reason),
        "tags": dict(info.tags), "created_at": info.created_at,
        "started_at": info.started_at or None, "finished_at": info.finished_at or None,
        "deadline": info.deadline or None, "command": list(params.command),
        "cpu": params.cpu if params.HasField("cpu") else None,
        "memory_mib": params.memory_mib if params.HasField("memory_mib") else None,
        "pty": params.pty,
        "secrets": list(params.secret_ids), "volumes": dict(params.volumes),  # names only
    }


def app_json(app: App) -> dict[str, Any]:
    return {"app_id": app.app_id, "name": app.name, "environment": app.environment}


def warn(message: str) -> None:
    line(f"sbtui: {message}", file=sys.stderr)
