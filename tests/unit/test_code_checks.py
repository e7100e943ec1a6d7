"""The tree is clean under the project's checkers, as pyproject.toml configures them, each run the
way a developer runs it from the repository's root:

    python -m mypy                                        (types, on sbtui/: [tool.mypy])
    python -m ruff check sbtui tests benchmarks           (lint: [tool.ruff.lint])
    python -m ruff format --check sbtui tests benchmarks  (format: [tool.ruff])

mypy's cache (.mypy_cache, in the root) makes a run after a small change take a second or so; a
first run checks everything (some seconds). `ruff format` with no --check puts a tree right.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CODE = ["sbtui", "tests", "benchmarks"]


def _run(tool: str, *args: str) -> None:
    assert importlib.util.find_spec(tool) is not None, (
        f"{tool} is not installed: install the dev extra (pip install -e '.[dev]')"
    )
    result = subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, (
        f"{tool} {' '.join(args)}, as configured in pyproject.toml, reports:\n{result.stdout}{result.stderr}"
    )


def test_mypy_finds_no_error():
    _run("mypy")


@pytest.mark.parametrize("args", [["check", *CODE], ["format", "--check", *CODE]], ids=["lint", "format"])
def test_ruff_finds_nothing(args):
    _run("ruff", *args)
