"""No module of sbtui imports itself back, directly or through others.

The graph is read from the source with `ast`, not from what an import happens to execute: every
import counts, at the top of a module, inside a function (an import moved into a function to get
round a cycle is still one) and under `if TYPE_CHECKING:` (a module that names another's type
depends on it as much as one that calls it; the checker follows those imports too).

An edge goes to the module an import names: `from sbtui.server import images` is an edge to
sbtui.server.images, `from sbtui.client import Client` one to the package sbtui.client (its
__init__). The parent packages Python initialises on the way (sbtui/__init__.py for every module)
are not edges: a package's __init__ runs before its modules whatever they import, so they can't
make a cycle that matters, and counting them would join every module to every other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import sbtui

ROOT = Path(sbtui.__file__).parent


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(importer: str, is_package: bool, module: str | None, level: int) -> str:
    """The absolute name of the module a `from ... import` starts at."""
    if not level:
        return module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """module -> the modules of the package at `root` it imports, for each of its modules."""
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}

    def target(name: str) -> str | None:
        # The longest prefix of `name` that is a module of ours.
        parts = name.split(".")
        while parts:
            if ".".join(parts) in files:
                return ".".join(parts)
            parts.pop()
        return None

    for importer, path in files.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                start = _resolve(importer, is_package, node.module, node.level)
                # `from pkg import mod` names the module pkg.mod when there is one.
                names = [
                    f"{start}.{alias.name}" if f"{start}.{alias.name}" in files else start
                    for alias in node.names
                ]
            for name in names:
                found = target(name)
                if found and found != importer:
                    graph[importer].add(found)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected part of `graph` that has one (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    parts: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            part = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                part.add(member)
                if member == node:
                    break
            if len(part) > 1:
                parts.append(part)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_one_cycle(graph, part) for part in parts]


def _one_cycle(graph: dict[str, set[str]], part: set[str]) -> list[str]:
    """A shortest cycle through the first module (by name) of a strongly connected part."""
    start = min(part)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & part):
                if nxt == start:
                    return paths[node] + [start]
                if nxt not in paths:
                    paths[nxt] = paths[node] + [nxt]
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"{sorted(part)} is not strongly connected")


def test_no_import_cycle():
    found = cycles(import_graph())
    assert not found, "import cycles in sbtui/ (each module imports the next):\n" + "\n".join(
        " -> ".join(cycle) for cycle in found
    )


def test_the_graph_sees_every_kind_of_import(tmp_path: Path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    sources = {
        "__init__.py": "",
        "a.py": "from pkg import b\n",
        "b.py": "def late():\n    from pkg.sub import c\n",
        "sub/__init__.py": "from .c import name\n",
        "sub/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..a import A\n",
        "d.py": "import pkg.sub.c as c, os\nfrom . import a\n",
    }
    for name, text in sources.items():
        (package / name).write_text(text)
    graph = import_graph(package)
    assert graph == {
        "pkg": set(),
        "pkg.a": {"pkg.b"},
        "pkg.b": {"pkg.sub.c"},
        "pkg.sub": {"pkg.sub.c"},
        "pkg.sub.c": {"pkg.a"},
        "pkg.d": {"pkg.sub.c", "pkg.a"},
    }
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]]
