"""The committed generated code must match sandbox.proto: regenerate and compare."""

from pathlib import Path

import pytest

from sbtui.proto import generate


def test_generated_code_is_current(tmp_path: Path):
    fresh = generate.generate(tmp_path)
    for path in fresh:
        committed = generate.PROTO_DIR / path.name
        assert committed.exists(), f"{committed} is missing: run python -m sbtui.proto.generate"
        if committed.read_bytes() != path.read_bytes():
            pytest.fail(f"{committed.name} is stale: run python -m sbtui.proto.generate")
