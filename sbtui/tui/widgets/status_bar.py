"""StatusBar: the top line of the list: where we are connected, and sandboxes by state."""

from __future__ import annotations

from collections import Counter

from rich.text import Text
from textual.widgets import Static

from sbtui.client import EngineState, EngineStatus, SandboxState

# In the order people scan them: live ones first.
_STATES = (
    (SandboxState.RUNNING, "running"),
    (SandboxState.CREATING, "creating"),
    (SandboxState.TERMINATING, "terminating"),
    (SandboxState.FINISHED, "finished"),
)


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text;
        & > .status-bar--running { color: $text-success; }
        & > .status-bar--creating { color: $text-warning; }
        & > .status-bar--terminating { color: $text-warning; }
        & > .status-bar--finished { color: $text-muted; }
        & > .status-bar--title { color: $text-accent; text-style: bold; }
        & > .status-bar--dim { color: $text-muted; }
        & > .status-bar--readonly { color: $text-warning; text-style: bold; }
        & > .status-bar--engine-down { color: $text-error; text-style: bold; }
    }
    """
    COMPONENT_CLASSES = {
        "status-bar--running",
        "status-bar--creating",
        "status-bar--terminating",
        "status-bar--finished",
        "status-bar--title",
        "status-bar--dim",
        "status-bar--readonly",
        "status-bar--engine-down",
    }

    def show(
        self,
        address: str,
        readonly: bool,
        counts: Counter,
        shown: int | None,
        synced: bool,
        engine: EngineStatus | None = None,
    ) -> None:
        """`shown` is how many rows pass the filter (None: no filter). The engine is shown
        once it is worth a look: not ok, or restarted since the server started."""
        style = self.get_component_rich_style
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("sbtui", style("status-bar--title"))
        text.append(f"  {address}", style("status-bar--dim"))
        if readonly:
            text.append("  read-only", style("status-bar--readonly"))
        if engine is not None and engine.state != EngineState.UNKNOWN:
            if engine.state != EngineState.OK:
                text.append(f"  {engine.engine} {engine.summary()}", style("status-bar--engine-down"))
            elif engine.restarts:
                text.append(f"  {engine.engine} {engine.summary()}", style("status-bar--dim"))
        text.append("   ")
        if not synced and not sum(counts.values()):
            text.append("loading sandboxes…", style("status-bar--dim"))
        else:
            for state, label in _STATES:
                text.append("● ", style(f"status-bar--{label}"))
                text.append(f"{counts.get(state, 0)} {label}  ")
            total = sum(counts.values())
            text.append(f"│ {total} total", style("status-bar--dim"))
            if shown is not None:
                text.append(f", {shown} shown", style("status-bar--dim"))
        self.update(text)
