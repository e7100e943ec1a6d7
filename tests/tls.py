"""A self-signed server certificate for an IP address (127.0.0.1 unless told), for servers that
serve TLS in tests."""

from __future__ import annotations

import subprocess
from pathlib import Path


def certificate(directory: Path, address: str = "127.0.0.1") -> tuple[Path, Path]:
    """(certificate, key) written into `directory`; the certificate is its own CA."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            f"/CN={address}",
            "-addext",
            f"subjectAltName=IP:{address}",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key
