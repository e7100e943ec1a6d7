"""Regenerate the Python code for the protos (sandbox.proto: clients and the server; node.proto:
the server and its node agents): `python -m sbtui.proto.generate`.

The generated files are committed so that installing sbtui needs no protoc; a unit test
regenerates into a temporary folder and fails when the committed copies are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parent
ROOT = PROTO_DIR.parent.parent
PROTOS = ("sandbox", "node")
SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")
GENERATED = tuple(f"{proto}{suffix}" for proto in PROTOS for suffix in SUFFIXES)


def generate(out_root: Path) -> list[Path]:
    """Write the generated modules under `out_root`/sbtui/proto and return their paths."""
    from grpc_tools import protoc  # dev dependency: only needed to regenerate

    (out_root / "sbtui" / "proto").mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{ROOT}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        *(str((PROTO_DIR / f"{proto}.proto").relative_to(ROOT)) for proto in PROTOS),
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed on {', '.join(f'sbtui/proto/{p}.proto' for p in PROTOS)}")
    return [out_root / "sbtui" / "proto" / name for name in GENERATED]


def main() -> int:
    for path in generate(ROOT):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
