"""A minimal image built from the host's busybox-static, so an offline machine has one to run."""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
import time

from sbtui.server.runtime.base import Runtime

REPO = "localhost/sbtui/busybox"
TAG = "latest"
REF = f"{REPO}:{TAG}"
VERSION_LABEL = "io.sbtui.base-version"
LAYOUT = "2"  # bump when build_tar changes what goes into the image


def find_busybox() -> str | None:
    """A statically linked busybox: the image has no C library for a dynamic one."""
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        try:
            with open(candidate, "rb") as f:
                head = f.read(4096)
        except OSError:
            continue
        if head.startswith(b"\x7fELF") and b"ld-linux" not in head:
            return candidate
    return None


def build_tar(busybox: str) -> bytes:
    applets = subprocess.run([busybox, "--list"], capture_output=True, check=True).stdout.split()
    buf = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buf, mode="w") as tar:

        def add_dir(path: str, mode: int = 0o755) -> None:
            info = tarfile.TarInfo(path)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, now
            tar.addfile(info)

        def add_file(path: str, data: bytes, mode: int = 0o644) -> None:
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), mode, now
            tar.addfile(info, io.BytesIO(data))

        for path in ("bin", "etc", "root", "home", "proc", "sys", "dev", "var", "usr"):
            add_dir(path)
        add_dir("tmp", 0o1777)
        with open(busybox, "rb") as f:
            add_file("bin/busybox", f.read(), 0o755)
        for applet in applets:
            name = applet.decode()
            if name == "busybox":
                continue
            link = tarfile.TarInfo(f"bin/{name}")
            link.type, link.linkname, link.mtime = tarfile.SYMTYPE, "busybox", now
            tar.addfile(link)
        add_file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
        add_file("etc/group", b"root:x:0:\nnogroup:x:65534:\n")
    return buf.getvalue()


def _version(busybox: str) -> str:
    """Changes when the busybox binary or the image layout made here changes."""
    with open(busybox, "rb") as f:
        return f"{LAYOUT}-{hashlib.sha256(f.read()).hexdigest()[:16]}"


async def ensure(runtime: Runtime) -> bool:
    """Import the image if it is missing or stale; False when this host has no busybox."""
    busybox = find_busybox()
    found = await runtime.inspect_image(REF)
    if busybox is None:
        return found is not None
    version = _version(busybox)
    if found is not None and found.labels.get(VERSION_LABEL) == version:
        return True
    await runtime.import_image(build_tar(busybox), REPO, TAG, {VERSION_LABEL: version})
    return True
