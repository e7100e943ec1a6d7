"""A real registry on 127.0.0.1 (Debian's docker-registry), filled with an image built here."""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import signal
import socket
import subprocess
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sbtui.server.runtime import busybox_image
from tests.servers import remove_images, wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
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
    host: str  # 127.0.0.1:PORT
    process: subprocess.Popen
    directory: Path

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
        listed = subprocess.run(
            [engine, "images", "--format", "{{.Repository}} {{.ID}}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.splitlines()
        remove_images(
            engine,
            list(
                dict.fromkeys(
                    image
                    for repository, image in (line.split() for line in listed)
                    if repository.startswith(f"{self.host}/")
                )
            ),
        )


def start() -> Registry:
    directory = Path(tempfile.mkdtemp(prefix="sbtui-registry-"))
    host = f"127.0.0.1:{_free_port()}"
    (directory / "config.yml").write_text(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {directory / 'data'}\nhttp:\n  addr: {host}\n"
    )
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
            with urllib.request.urlopen(f"http://{host}/v2/", timeout=2) as reply:
                return reply.status == 200
        except OSError:
            return False

    wait_for(answers, 30, "the test registry to answer", 0.05)
    return Registry(host, process, directory)
