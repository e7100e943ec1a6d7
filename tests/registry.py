"""A real registry (Debian's docker-registry), filled with an image built here: on 127.0.0.1 over
plain HTTP, which engines allow to loopback, or on another address of this machine over TLS
(tests/swarm_cluster.py: the registry every node of a test swarm pushes to and pulls from)."""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import signal
import socket
import ssl
import subprocess
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sbtui.server.runtime import busybox_image
from tests.servers import engine_cli, remove_images, wait_for
from tests.tls import certificate


def _free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def docker_archive(path: Path, marker: str) -> None:
    """A docker-archive image: the busybox base plus /marker holding `marker`."""
    base = io.BytesIO(busybox_image.build_tar(busybox_image.find_busybox()))
    layer = io.BytesIO()
    with tarfile.open(fileobj=base) as src, tarfile.open(fileobj=layer, mode="w") as dst:
        for member in src.getmembers():
            dst.addfile(member, src.extractfile(member) if member.isfile() else None)
        data = marker.encode()
        info = tarfile.TarInfo("marker")
        info.size = len(data)
        dst.addfile(info, io.BytesIO(data))
    layer_bytes = layer.getvalue()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_bytes).hexdigest()]},
        }
    ).encode()
    manifest = json.dumps([{"Config": "config.json", "RepoTags": [], "Layers": ["layer.tar"]}]).encode()
    with tarfile.open(path, "w") as tar:
        for name, data in (("layer.tar", layer_bytes), ("config.json", config), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@dataclass
class Registry:
    host: str  # ADDRESS:PORT
    process: subprocess.Popen
    directory: Path
    ca: Path | None = None  # its certificate, its own CA, when it serves TLS

    def push(self, repository: str, marker: str) -> str:
        """Build an image holding `marker` and push it; returns its reference."""
        archive = self.directory / f"{secrets.token_hex(4)}.tar"
        docker_archive(archive, marker)
        ref = f"{self.host}/{repository}"
        subprocess.run(
            [
                "skopeo",
                "copy",
                "--quiet",
                "--dest-tls-verify=false",
                f"docker-archive:{archive}",
                f"docker://{ref}",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return ref

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)

    def remove_pulled(self, engine: str) -> None:
        """Remove from `engine` the images pulled from this registry (its port is this run's)."""
        if engine == "swarm":
            return  # a registry on this machine's loopback is none of the swarm nodes'
        listed = subprocess.run(
            [*engine_cli(engine), "images", "--format", "{{.Repository}} {{.ID}}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.splitlines()
        remove_images(
            engine_cli(engine),
            list(
                dict.fromkeys(
                    image
                    for repository, image in (line.split() for line in listed)
                    if repository.startswith(f"{self.host}/")
                )
            ),
        )


def start(address: str = "127.0.0.1", tls: bool = False, directory: Path | None = None) -> Registry:
    """A registry listening on `address` (a free port), serving TLS with a certificate of its own
    when `tls`; it keeps its images in `directory` (a new temporary one unless given)."""
    directory = directory or Path(tempfile.mkdtemp(prefix="sbtui-registry-"))
    host = f"{address}:{_free_port(address)}"
    config = (
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {directory / 'data'}\nhttp:\n  addr: {host}\n"
    )
    ca = context = None
    if tls:
        ca, key = certificate(directory, address)
        config += f"  tls:\n    certificate: {ca}\n    key: {key}\n"
        context = ssl.create_default_context(cafile=str(ca))
    (directory / "config.yml").write_text(config)
    log = open(directory / "registry.log", "wb")
    process = subprocess.Popen(
        ["docker-registry", "serve", str(directory / "config.yml")],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
    )
    log.close()

    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError((directory / "registry.log").read_text())
        try:
            url = f"{'https' if tls else 'http'}://{host}/v2/"
            with urllib.request.urlopen(url, timeout=2, context=context) as reply:
                return reply.status == 200
        except OSError:
            return False

    wait_for(answers, 30, "the test registry to answer", 0.05)
    return Registry(host, process, directory, ca)
