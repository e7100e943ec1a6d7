"""The columns of the sandbox list: what each shows, how it sorts, how wide it may grow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from sbtui.client import SandboxInfo, SandboxState, TerminationReason
from sbtui.text import age, mebibytes, node_text, state_text, tags_text

# Sort order of states: live ones first when ascending.
_STATE_ORDER = {
    SandboxState.RUNNING: 0,
    SandboxState.CREATING: 1,
    SandboxState.TERMINATING: 2,
    SandboxState.FINISHED: 3,
    SandboxState.UNKNOWN: 4,
}


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _mebibytes(value: int | None) -> str:
    return "" if value is None else mebibytes(value)


def _range(request: str, limit: str) -> str:
    """'1', '1–2' (request to limit), '≤2' (a limit alone) or '-'."""
    if limit and limit != request:
        return f"{request}–{limit}" if request else f"≤{limit}"
    return request or "-"


def cpu_text(info: SandboxInfo) -> str:
    p = info.params
    return _range(_number(p.cpu), _number(p.cpu_limit))


def memory_text(info: SandboxInfo) -> str:
    p = info.params
    return _range(_mebibytes(p.memory_mib), _mebibytes(p.memory_limit_mib))


def ports_text(info: SandboxInfo) -> str:
    """Ports declared at create, by kind: 443/tls, 8443/h2, 8080/tcp (plain TCP as well)."""
    p = info.params
    parts = [f"{port}/tls" for port in p.encrypted_ports]
    parts += [f"{port}/h2" for port in p.h2_ports]
    parts += [f"{port}/tcp" for port in p.unencrypted_ports]
    return ",".join(parts) or "-"


def image_text(info: SandboxInfo) -> str:
    return info.image_tag or info.image_id


def state_style(info: SandboxInfo) -> str:
    """Name of the component class (minus the table prefix) that colours the state cell."""
    if info.state == SandboxState.FINISHED:
        failed = info.exit_code not in (None, 0) and info.termination_reason != TerminationReason.TERMINATED
        abnormal = info.termination_reason not in (
            TerminationReason.NONE,
            TerminationReason.EXITED,
            TerminationReason.TERMINATED,
        )
        return "failed" if failed or abnormal else "finished"
    return str(info.state)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int  # the least it takes
    max_width: int  # the most it grows to fit its content
    text: Callable[[SandboxInfo, float], str]
    sort_key: Callable[[SandboxInfo], Any]
    right: bool = False  # numbers align right
    timely: bool = False  # its text changes with the clock


def _pmax(info: SandboxInfo, field: str) -> float:
    value = getattr(info.params, field)
    return -1.0 if value is None else float(value)


COLUMNS: tuple[Column, ...] = (
    Column("id", "ID", 19, 19, lambda i, now: i.sandbox_id, lambda i: i.sandbox_id),
    Column("name", "NAME", 6, 24, lambda i, now: i.name or "-", lambda i: i.name),
    Column("app", "APP", 5, 20, lambda i, now: i.app_name, lambda i: i.app_name),
    Column("image", "IMAGE", 7, 32, lambda i, now: image_text(i), image_text),
    Column(
        "state",
        "STATE",
        8,
        20,
        lambda i, now: state_text(i),
        lambda i: (_STATE_ORDER.get(i.state, 9), i.exit_code or 0),
    ),
    Column("node", "NODE", 6, 24, lambda i, now: node_text(i), lambda i: i.node),
    Column("cpu", "CPU", 4, 9, lambda i, now: cpu_text(i), lambda i: _pmax(i, "cpu"), right=True),
    Column(
        "memory", "MEM", 5, 13, lambda i, now: memory_text(i), lambda i: _pmax(i, "memory_mib"), right=True
    ),
    # Ascending age means youngest first: sort by creation time, newest first.
    Column(
        "age",
        "AGE",
        4,
        5,
        lambda i, now: age(i.created_at, now),
        lambda i: -i.created_at,
        right=True,
        timely=True,
    ),
    Column("tags", "TAGS", 5, 40, lambda i, now: tags_text(i.tags), lambda i: tags_text(i.tags)),
    Column("tunnels", "TUNNELS", 7, 24, lambda i, now: ports_text(i), ports_text),
)

COLUMN_BY_KEY = {c.key: c for c in COLUMNS}


def shown_columns(nodes: int) -> tuple[Column, ...]:
    """The columns drawn when the sandboxes known are on `nodes` nodes. NODE only from two on,
    like k9s' NODE with -o wide: on Docker or Podman every sandbox is on the engine's one host,
    and a column saying so on every row would take the room of TAGS and TUNNELS for nothing;
    on a cluster, where a sandbox runs is the first thing to look at when a node goes bad."""
    return COLUMNS if nodes > 1 else tuple(c for c in COLUMNS if c.key != "node")
