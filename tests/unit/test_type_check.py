"""The type checker is clean on sbtui/: mypy as pyproject.toml configures it ([tool.mypy]), run
the way a developer runs it, `python -m mypy` from the repository's root.

Its cache (.mypy_cache, in the root) makes a run after a small change take a second or so; a
first run checks everything (some seconds)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_finds_no_error():
    assert importlib.util.find_spec("mypy") is not None, \
        "mypy is not installed: install the dev extra (pip install -e '.[dev]')"
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, \
        f"mypy, as configured in pyproject.toml, reports:\n{result.stdout}{result.stderr}"
