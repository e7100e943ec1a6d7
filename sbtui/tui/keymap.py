"""Every key binding of the dashboard, each with an id, and the file that remaps them.

`$XDG_CONFIG_HOME/sbtui/keys.toml` (else `~/.config/sbtui/keys.toml`) maps binding ids to keys;
dotted ids may be written as tables:

    quit = "ctrl+q"            # one key
    open = ["enter", "o"]      # or several
    [sort]
    name = "ctrl+n"            # the binding with id "sort.name"

Textual applies the result through `App.set_keymap`, so a remapped key shows in the footer, the
help screen and the command palette. Bad entries are reported and the rest still applies.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from textual.binding import Binding, BindingType
from textual.keys import REPLACED_KEYS, Keys, key_to_character


@dataclass(frozen=True)
class Key:
    id: str
    keys: str  # default, Textual's comma-separated form
    action: str
    description: str
    show: bool = True  # in the footer
    writes: bool = False  # changes a sandbox: hidden and refused with --readonly
    priority: bool = False


# The app declares Textual's own app keys again (it does not inherit them) so they have ids too.
APP_KEYS = (
    Key("quit", "q", "quit", "Quit"),
    Key("help", "question_mark", "help", "Help"),
    Key("palette", "ctrl+p", "command_palette", "Commands", show=False, priority=True),
    Key("quit.now", "ctrl+q", "quit", "Quit", show=False, priority=True),
    Key("quit.hint", "ctrl+c", "help_quit", "How to quit", show=False),
)

LIST_KEYS = (
    Key("open", "enter", "open", "Open"),
    Key("filter", "slash", "filter", "Filter"),
    Key("apps", "a", "apps", "Apps"),
    Key("create", "c", "create", "Create", writes=True),
    Key("duplicate", "D", "duplicate", "Duplicate", writes=True),
    Key("shell", "s", "shell", "Shell", writes=True),
    Key("sessions", "w", "sessions", "Sessions"),
    Key("tunnels", "t", "tunnels", "Tunnels"),
    Key("snapshots", "i", "snapshots", "Snapshots"),
    Key("terminate", "ctrl+d", "terminate", "Terminate", writes=True),
    Key("sort.next", "o", "sort_next", "Sort"),
    Key("sort.reverse", "O", "sort_reverse", "Reverse sort", show=False),
    Key("filter.clear", "escape", "clear_filter", "Clear filter", show=False),
    # k9s habits: shift+letter sorts by that column.
    Key("sort.name", "N", "sort('name')", "Sort by name", show=False),
    Key("sort.age", "A", "sort('age')", "Sort by age", show=False),
    Key("sort.state", "S", "sort('state')", "Sort by state", show=False),
    Key("sort.cpu", "C", "sort('cpu')", "Sort by CPU", show=False),
    Key("sort.memory", "M", "sort('memory')", "Sort by memory", show=False),
    Key("sort.app", "P", "sort('app')", "Sort by app", show=False),
)

DETAIL_KEYS = (
    Key("back", "escape", "back", "Back"),
    Key("shell", "s", "shell", "Shell", writes=True),
    Key("sessions", "w", "sessions", "Sessions"),
    Key("tags.edit", "e", "edit_tags", "Edit tags", writes=True),
    Key("exec", "x", "exec", "Exec", writes=True),
    Key("snapshot", "S", "snapshot", "Snapshot", writes=True),
    Key("duplicate", "D", "duplicate", "Duplicate", writes=True),
    Key("tunnels", "t", "tunnels", "Tunnels"),
    Key("terminate", "ctrl+d", "terminate", "Terminate", writes=True),
)

TUNNEL_KEYS = (
    Key("tunnels.copy", "c", "copy_url", "Copy URL"),
    Key("tunnels.check", "p", "check", "Check reachability"),
    Key("tunnels.retry", "r", "retry", "Retry"),
    Key("close", "escape", "close", "Close"),
)

SNAPSHOT_KEYS = (
    Key("snapshot.start", "enter", "start", "Start a sandbox from it", writes=True),
    Key("close", "escape", "close", "Close"),
)

CREATE_KEYS = (
    Key("create.submit", "ctrl+s", "submit", "Create", writes=True, priority=True),
    Key("create.image", "ctrl+o", "pick_image", "Pick image", priority=True),
    Key("create.clear", "ctrl+l", "clear", "Clear form", priority=True),
    Key("back", "escape", "back", "Cancel"),
)

SNAPSHOTS_KEYS = (
    Key("snapshots.start", "enter", "start", "Start a sandbox", writes=True),
    Key("snapshots.edit", "e", "edit_start", "Edit, then start", writes=True),
    Key("snapshots.source", "d", "open_source", "Source sandbox"),
    Key("filter", "slash", "filter", "Filter"),
    Key("snapshots.refresh", "r", "refresh", "Refresh"),
    Key("back", "escape", "back", "Back"),
)

# A running program gets every key but the session key; the key pressed after it is one of these
# (like tmux's prefix). ShellScreen matches them itself: the terminal never lets them bubble up.
SESSION_KEYS = (
    Key("session.key", "ctrl+right_square_bracket", "session_key", "Session key, then one of these"),
    Key("session.next", "n,right", "next_session", "Next session"),
    Key("session.previous", "p,left", "previous_session", "Previous session"),
    *(Key(f"session.{n}", str(n), f"go_to_session({n})", f"Session {n}", show=False) for n in range(1, 10)),
    Key("session.detach", "d,ctrl+right_square_bracket", "detach", "Back to the list (sessions live on)"),
    Key("session.close", "x", "close_session", "Close an ended session"),
    Key("session.list", "w", "sessions", "Sessions list"),
    Key("session.pass", "right_square_bracket", "pass_key", "Pass the session key to the program"),
    Key("session.help", "question_mark", "help", "Keys"),
    Key("session.cancel", "escape", "cancel", "Cancel"),
)

CONFIRM_KEYS = (
    Key("confirm.yes", "y", "answer(True)", "Yes"),
    Key("confirm.no", "n,escape", "answer(False)", "No"),
)

HELP_KEYS = (Key("help.close", "escape,question_mark,q", "close", "Close"),)

TABLE_KEYS = (
    Key("table.up", "up,k", "cursor(-1)", "Up", show=False),
    Key("table.down", "down,j", "cursor(1)", "Down", show=False),
    Key("table.page_up", "pageup", "page(-1)", "Page up", show=False),
    Key("table.page_down", "pagedown", "page(1)", "Page down", show=False),
    Key("table.first", "home,g", "edge(0)", "First row", show=False),
    Key("table.last", "end,G", "edge(1)", "Last row", show=False),
    Key("table.left", "left,h", "pan(-8)", "Scroll left", show=False),
    Key("table.right", "right,l", "pan(8)", "Scroll right", show=False),
)

PICKER_KEYS = (Key("close", "escape", "close", "Close"),)

ALL_KEYS = (
    APP_KEYS
    + LIST_KEYS
    + TABLE_KEYS
    + DETAIL_KEYS
    + TUNNEL_KEYS
    + SNAPSHOT_KEYS
    + CREATE_KEYS
    + CONFIRM_KEYS
    + HELP_KEYS
    + PICKER_KEYS
    + SNAPSHOTS_KEYS
    + SESSION_KEYS
)
KNOWN_IDS = {k.id for k in ALL_KEYS}
WRITE_ACTIONS = {k.action for k in ALL_KEYS if k.writes}


def bindings(keys: tuple[Key, ...]) -> list[BindingType]:  # as Textual types BINDINGS
    return [Binding(k.keys, k.action, k.description, show=k.show, priority=k.priority, id=k.id) for k in keys]


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "sbtui" / "keys.toml"


_MODIFIERS = {"ctrl", "shift", "alt", "meta", "super", "hyper"}
_KEY_NAMES = {k.value for k in Keys}


def _valid_key(key: str) -> bool:
    *modifiers, base = key.split("+") if len(key) > 1 else [key]
    if any(m not in _MODIFIERS for m in modifiers) or not base:
        return False
    # Textual names printable keys after their Unicode names (question_mark), a few shortened
    # (slash, minus, at...).
    return len(base) == 1 or base in _KEY_NAMES or base in REPLACED_KEYS or key_to_character(base) is not None


def _flatten(table: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for name, value in table.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def parse_keymap(text: str, source: str = "keys.toml") -> tuple[dict[str, str], list[str]]:
    """(binding id -> keys, problems) from the TOML `text`; bad entries are left out."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        return {}, [f"{source}: {err}; using the default keys"]
    keymap: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, value in _flatten(data).items():
        if binding_id not in KNOWN_IDS:
            problems.append(f"{source}: no binding has the id {binding_id!r} (press ? to see the ids)")
            continue
        keys = [value] if isinstance(value, str) else value
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) and k.strip() for k in keys):
            problems.append(f'{source}: {binding_id} must be a key like "ctrl+k" or a list of keys')
            continue
        keys = [k.strip() for k in keys]
        bad = [k for k in keys if not _valid_key(k)]
        if bad:
            problems.append(
                f"{source}: {binding_id}: {', '.join(map(repr, bad))} is not a key name "
                '(e.g. "x", "ctrl+k", "f5", "enter", "question_mark")'
            )
            continue
        keymap[binding_id] = ",".join(keys)
    return keymap, problems


def load_keymap(path: Path | None = None) -> tuple[dict[str, str], list[str]]:
    path = path or config_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}, []
    except OSError as err:
        return {}, [f"{path}: {err.strerror}; using the default keys"]
    return parse_keymap(text, str(path))
