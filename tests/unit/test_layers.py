"""The layers of sbtui/, read from the source: only the client, the server and the node agent
know the wire (sbtui.proto and its messages), and the client core stands alone (no dashboard,
CLI or server).

Imports are found with ast, function-level ones included; the client is also imported in a
fresh interpreter, which shows what it pulls in indirectly.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "sbtui"
# The packages under sbtui/ that may know the wire. The node agent serves node.proto, the
# server's wire to it: it is the server's far end, as the client is the near end of sandbox.proto.
WIRE_KNOWERS = ("client", "server", "node", "proto")
# What only a protobuf message has: reading one outside the client is the wire leaking through.
MESSAGE_METHODS = {"HasField", "WhichOneof", "ListFields", "SerializeToString", "CopyFrom", "DESCRIPTOR"}


def modules(*under: str) -> list[Path]:
    return (
        sorted(p for part in under for p in (PACKAGE / part).rglob("*.py"))
        if under
        else sorted(PACKAGE.rglob("*.py"))
    )


def outside_the_wire() -> list[Path]:
    return [p for p in modules() if p.relative_to(PACKAGE).parts[0] not in WIRE_KNOWERS]


def imported(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of its code, as absolute dotted names."""
    names: set[str] = set()
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package `level` steps up
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_only_the_client_the_server_and_the_agent_import_the_wire():
    found = {
        str(p.relative_to(ROOT)): sorted(n for n in imported(p) if within(n, "sbtui.proto"))
        for p in outside_the_wire()
    }
    assert {path: names for path, names in found.items() if names} == {}


def test_nothing_outside_the_client_the_server_and_the_agent_reads_a_protobuf_message():
    """The client hands out its own types: no code above it calls what only a message has."""
    found = {}
    for path in outside_the_wire():
        tree = ast.parse(path.read_text(), str(path))
        used = sorted({n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)} & MESSAGE_METHODS)
        if used:
            found[str(path.relative_to(ROOT))] = used
    assert found == {}


@pytest.mark.parametrize("above", ["textual", "sbtui.server", "sbtui.tui", "sbtui.cli"])
def test_the_client_core_imports_nothing_above_or_beside_it(above):
    found = {
        str(p.relative_to(ROOT)): sorted(n for n in imported(p) if within(n, above))
        for p in modules("client")
    }
    assert {path: names for path, names in found.items() if names} == {}


def test_importing_the_client_loads_no_dashboard_cli_or_server():
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, sbtui.client; print('\\n'.join(sys.modules))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    above = ("textual", "sbtui.server", "sbtui.tui", "sbtui.cli")
    assert [m for m in loaded if any(within(m, name) for name in above)] == []
    assert "sbtui.client.sandboxes" in loaded  # the check sees the client's own modules
