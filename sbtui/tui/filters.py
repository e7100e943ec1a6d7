"""The `/` filter of the sandbox list: `app:NAME node:NAME tag:key=value state:running` and free
text.

Terms are separated by spaces (quote a value that holds one: `tag:"team=data eng"`):

- `app:NAME`      the sandbox's app is NAME (several `app:` terms: any of them)
- `node:NAME`     the sandbox runs (or ran) on node NAME (several `node:` terms: any of them)
- `tag:KEY=VALUE` the sandbox has that tag; `tag:KEY` only needs the key (every `tag:` must match)
- `state:STATE`   creating, running, terminating or finished, or a unique prefix (several: any)
- anything else   must appear, case-insensitively, in the id, name, app or image

So `node:22-alpine` names a node, not the image: the image is found by `22-alpine`.

A term still being typed (`app:`, `state:`) is ignored rather than reported, so the list does not
flash errors between keystrokes.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from sbtui.client import SandboxInfo, SandboxState

STATES = (SandboxState.CREATING, SandboxState.RUNNING, SandboxState.TERMINATING, SandboxState.FINISHED)


class FilterError(ValueError):
    """A filter that can't be applied; the message says what to type instead."""


@dataclass(frozen=True)
class SandboxFilter:
    apps: frozenset[str] = frozenset()
    nodes: frozenset[str] = frozenset()
    states: frozenset[SandboxState] = frozenset()
    tags: tuple[tuple[str, str | None], ...] = ()  # (key, value), value None = key present
    words: tuple[str, ...] = ()  # lowercase
    text: str = field(default="", compare=False)

    @property
    def empty(self) -> bool:
        return not (self.apps or self.nodes or self.states or self.tags or self.words)

    def matches(self, info: SandboxInfo, haystack: str) -> bool:
        """Whether `info` passes; `haystack` is `search_text(info)`, cached by the caller."""
        if self.apps and info.app_name not in self.apps:
            return False
        if self.nodes and info.node not in self.nodes:
            return False
        if self.states and info.state not in self.states:
            return False
        tags = info.tags
        for key, value in self.tags:
            if key not in tags or (value is not None and tags[key] != value):
                return False
        for word in self.words:
            if word not in haystack:
                return False
        return True


def search_text(info: SandboxInfo) -> str:
    """What free-text terms are matched against."""
    return f"{info.sandbox_id} {info.name} {info.app_name} {info.image_tag or info.image_id}".lower()


def _split(text: str) -> list[str]:
    # A quote opened and not yet closed is someone still typing: close it for them.
    for suffix in ("", '"', "'"):
        try:
            return shlex.split(text + suffix)
        except ValueError:
            continue
    raise FilterError("unbalanced quotes")


def _state(value: str) -> SandboxState:
    found = [s for s in STATES if str(s).startswith(value.lower())]
    if len(found) != 1:
        names = ", ".join(str(s) for s in STATES)
        raise FilterError(f"state:{value} is not a state: use {names}")
    return found[0]


def parse_filter(text: str) -> SandboxFilter:
    """The filter `text` describes; FilterError when a term can't mean anything."""
    apps: set[str] = set()
    nodes: set[str] = set()
    states: set[SandboxState] = set()
    tags: list[tuple[str, str | None]] = []
    words: list[str] = []
    for term in _split(text):
        kind, sep, value = term.partition(":")
        kind = kind.lower()
        if sep and kind == "app":
            if value:
                apps.add(value)
        elif sep and kind == "node":
            if value:
                nodes.add(value)
        elif sep and kind == "state":
            if value:
                states.add(_state(value))
        elif sep and kind == "tag":
            key, eq, tag_value = value.partition("=")
            if eq and not key:
                raise FilterError(f"tag:{value} has no key: use tag:KEY=VALUE")
            if key:
                tags.append((key, tag_value if eq else None))
        else:
            words.append(term.lower())
    return SandboxFilter(
        frozenset(apps), frozenset(nodes), frozenset(states), tuple(tags), tuple(words), text
    )


def named_apps(text: str) -> frozenset[str]:
    """The apps a filter text names (none if it does not parse)."""
    try:
        return parse_filter(text).apps
    except FilterError:
        return frozenset()


def with_app(text: str, app: str | None) -> str:
    """`text` with its `app:` terms replaced by `app:APP` (or removed, for None)."""
    try:
        terms = [t for t in _split(text) if not t.lower().startswith("app:")]
    except FilterError:
        terms = []
    if app:
        terms.insert(0, f"app:{app}")
    return " ".join(shlex.quote(t) for t in terms)
