"""The dashboard's layers, read from the source: screens don't know each other, models don't know
the views.

A screen asks the app for what it wants shown (sbtui/tui/navigation.py); the only screen modules
another screen module may import are the bases below, which show nothing and open nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import sbtui.tui

TUI = Path(sbtui.tui.__file__).parent
SCREENS = TUI / "screens"
# Base classes kept beside the screens: importing one is inheriting, not navigating.
BASES = {
    "sbtui.tui.screens.picker": "the search box the app and image pickers are made of",
    "sbtui.tui.screens.sandbox_actions": "the actions the list and the detail screen share",
}
# Models: what the views show (shell sessions, the sandbox store, the list's rows and filter),
# kept free of them.
MODELS = [TUI / name for name in ("sessions.py", "state.py", "rows.py", "filters.py")]
VIEWS = ("sbtui.tui.screens", "sbtui.tui.widgets")


def imported(path: Path) -> set[str]:
    """Every module `path` imports, anywhere in it (in functions and TYPE_CHECKING blocks too);
    `from package import name` counts as `package.name` as well, which may be a module."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def screen_modules() -> list[Path]:
    return sorted(p for p in SCREENS.glob("*.py") if p.name != "__init__.py")


def module_name(path: Path) -> str:
    return f"sbtui.tui.screens.{path.stem}"


def is_screen_module(name: str) -> bool:
    return name.startswith("sbtui.tui.screens.") and (SCREENS / f"{name.rsplit('.', 1)[1]}.py").exists()


def test_no_screen_module_imports_another():
    found = []
    for path in screen_modules():
        for name in sorted(imported(path)):
            if is_screen_module(name) and name != module_name(path) and name not in BASES:
                found.append(f"{path.name} imports {name}")
    assert not found, (
        "screens open other screens through the app (navigation.py), not by import:\n" + "\n".join(found)
    )


def test_the_bases_import_no_screen_module():
    for base in BASES:
        path = SCREENS / f"{base.rsplit('.', 1)[1]}.py"
        found = sorted(name for name in imported(path) if is_screen_module(name) and name != base)
        assert not found, f"{path.name}, a base, imports {found}"


def test_no_screen_reaches_into_the_screen_stack():
    found = []
    for path in screen_modules():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr == "screen_stack":
                found.append(f"{path.name}:{node.lineno}")
    assert not found, f"screens that look through the app's screen stack: {found}"


def test_models_import_no_view():
    for path in MODELS:
        found = sorted(name for name in imported(path) if name.startswith(VIEWS))
        assert not found, f"{path.relative_to(TUI.parent.parent)} imports views: {found}"
