"""Small C programs that make one system call directly (tests/integration/programs/), built static
so that they run in a sandbox's image, which has no C library, and copied in through exec stdin."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

SOURCES = Path(__file__).parent / "integration" / "programs"


@pytest.fixture(scope="session")
def programs(tmp_path_factory) -> Path:
    """The directory of the built programs, each named after its source (keyring, open_files...)."""
    out = tmp_path_factory.mktemp("programs")
    for source in sorted(SOURCES.glob("*.c")):
        built = subprocess.run(
            ["gcc", "-static", "-O2", "-o", str(out / source.stem), str(source)],
            check=False,
            capture_output=True,
            text=True,
        )
        assert built.returncode == 0, f"gcc could not build {source.name}:\n{built.stderr}"
    return out


async def install(sb, program: Path) -> str:
    """Copy `program` into the sandbox; its path there."""
    path = f"/tmp/{program.name}"
    p = await sb.exec(["sh", "-c", f"cat > {path} && chmod +x {path}"])
    p.stdin.write(program.read_bytes())
    p.stdin.close()
    assert await asyncio.wait_for(p.wait(), 60) == 0
    return path
