"""Text for people, the same in the CLI and the dashboard: ages, durations, sizes, tags,
sandbox states and nodes as they are shown, and the forms of values both read (durations, KEY=VALUE).

Shown text is not escaped here: whoever puts it on a terminal passes it through `printable`.
"""

from __future__ import annotations

import re
import time

from sbtui.client import SandboxInfo, SandboxState, TerminationReason

_SECONDS = re.compile(r"\d+(?:\.\d+)?")
_UNITS = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?")
DURATION_FORMS = "seconds (90) or units: 90s, 10m, 1h, 1h30m"

# ---- read ----------------------------------------------------------------------------------


def parse_duration(text: str) -> float:
    """Seconds from '90', '90s', '10m', '1h' or '1h30m'; ValueError says what is accepted."""
    text = text.strip()
    if _SECONDS.fullmatch(text):
        value = float(text)
    else:
        match = _UNITS.fullmatch(text)
        if not text or not match:
            raise ValueError(f"not a duration; use {DURATION_FORMS}")
        hours, minutes, secs = (float(part or 0) for part in match.groups())
        value = hours * 3600 + minutes * 60 + secs
    if value <= 0:
        raise ValueError("must be more than zero")
    return value


def split_pair(text: str) -> tuple[str, str]:
    """('KEY', 'VALUE') from 'KEY=VALUE'; the value may be empty or hold more '='."""
    key, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"there is no '=', e.g. {text}=value")
    if not key:
        raise ValueError("the part before '=' is empty")
    return key, value


# ---- show ----------------------------------------------------------------------------------


def age(since: float, now: float | None = None) -> str:
    """'42s', '5m', '3h', '2d': the largest unit, like kubectl; '-' for a time not known."""
    if not since:
        return "-"
    elapsed = max(0, int((time.time() if now is None else now) - since))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if elapsed >= size:
            return f"{elapsed // size}{unit}"
    return f"{elapsed}s"


def duration_text(seconds: float) -> str:
    """'24h', '30m', '90s', '1.5s': whole hours or minutes when it is, else seconds. Read back
    by `parse_duration` as the same value."""
    seconds = float(seconds)
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def mebibytes(mib: int) -> str:
    """'512Mi', '2Gi', '1.5Gi' (rounded to a tenth)."""
    if mib >= 1024 and mib % 1024 == 0:
        return f"{mib // 1024}Gi"
    if mib >= 1024:
        return f"{mib / 1024:.1f}Gi"
    return f"{mib}Mi"


def size_text(size: int) -> str:
    """'812Ki', '148Mi', '1.2Gi': binary units, like memory; '-' for none."""
    value, unit = float(size), "B"
    for unit in ("B", "Ki", "Mi", "Gi", "Ti"):
        if value < 1024 or unit == "Ti":
            break
        value /= 1024
    if unit == "B":
        return f"{size}B" if size else "-"
    return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"


def tags_text(tags: dict[str, str]) -> str:
    """'env=prod,team=web', sorted by key; '-' for none."""
    return ",".join(f"{k}={v}" for k, v in sorted(tags.items())) or "-"


def node_text(info: SandboxInfo) -> str:
    """The node a sandbox runs (or ran) on; '-' before it has started, or if it never did."""
    return info.node or "-"


def state_text(info: SandboxInfo) -> str:
    """'running', 'finished (0)', or for a sandbox that did not end by itself or by a
    terminate, why it ended: 'out of memory (137)', 'timeout (124)'."""
    if info.state != SandboxState.FINISHED:
        return str(info.state)
    reason = info.termination_reason
    code = "" if info.exit_code is None else f" ({info.exit_code})"
    if reason in (TerminationReason.NONE, TerminationReason.EXITED, TerminationReason.TERMINATED):
        return f"finished{code}"
    return f"{reason}{code}"
