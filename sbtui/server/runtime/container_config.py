"""What a sandbox's ContainerSpec becomes in the Engine API's container config, and the check
that the engine created what was asked for: the confinement and limits every sandbox gets,
whichever engine runs it. The engine's name chooses its log driver; what must be asked of the
engine first (its seccomp profile, whether it can cap the writable layer) is the runtime's.
"""

from __future__ import annotations

import re

from sbtui.server.runtime import gpu
from sbtui.server.runtime.base import ContainerSpec, EngineError

# The same small capability set on both engines (Podman's default without SYS_CHROOT; Docker's
# adds NET_RAW, MKNOD and AUDIT_WRITE).
CAPABILITIES = (
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
)
# HostConfig fields read back after create, with the parameter each one carries.
_LIMITS = {
    "NanoCpus": "cpu_limit",
    "CpuShares": "cpu",
    "Memory": "memory_limit_mib",
    "MemoryReservation": "memory_mib",
    "PidsLimit": "the process limit",
}
# What a volume mount may name, for the runtime's own check: Podman's compatibility API joins a
# mount into one "type=volume,source=...,destination=..." string and parses it again, so a ','
# or '=' in a path would become options of the mount (a bind of a host directory, say).
# Validation refuses such paths long before; the runtime refuses them too, whoever calls it.
_MOUNT_TARGET = re.compile(r"^(/[A-Za-z0-9._+@~-]+)+\Z")
_VOLUME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


def container_config(spec: ContainerSpec, host: dict) -> dict:
    """The body of a container create, with `host` as its HostConfig."""
    return {
        "Image": spec.image,
        "Cmd": spec.command,
        "Env": [f"{k}={v}" for k, v in spec.env.items()],
        "Labels": spec.labels,
        "WorkingDir": spec.workdir,
        "Tty": spec.tty,
        "OpenStdin": spec.tty,
        "HostConfig": host,
    }


def host_config(
    spec: ContainerSpec, engine: str, ulimits: list[dict], seccomp: list[str], layer_quota: bool
) -> dict:
    """The HostConfig of a sandbox on `engine` ("docker" or "podman"), whose own rlimits are
    `ulimits`; `seccomp` are its security options for the seccomp profile, and `layer_quota`
    whether it can cap the writable layer."""
    host: dict = {
        "Init": False,
        # The small capability set, no privilege gain through setuid binaries, the engine's
        # default seccomp profile with no user namespaces or keyrings, and a bound on
        # processes (fork bombs).
        "CapDrop": ["ALL"],
        "CapAdd": list(CAPABILITIES),
        "SecurityOpt": ["no-new-privileges", *seccomp],
        "PidsLimit": spec.pids_limit,
    }
    if spec.cpu:
        host["CpuShares"] = cpu_shares(spec.cpu)
    if spec.cpu_limit:
        host["NanoCpus"] = int(spec.cpu_limit * 1e9)
    if spec.memory_mib:
        host["MemoryReservation"] = spec.memory_mib * 1024 * 1024
    if spec.memory_limit_mib:
        host["Memory"] = spec.memory_limit_mib * 1024 * 1024
    ulimits = with_open_files(ulimits, spec.open_files)
    if ulimits:
        host["Ulimits"] = ulimits
    if spec.log_bytes:
        host["LogConfig"] = log_config(engine, spec.log_bytes)
    if spec.disk_bytes and layer_quota:
        host["StorageOpt"] = {"size": str(spec.disk_bytes)}
    if spec.gpus:
        host.update(gpu.gpu_host_config(spec.gpus))
    if spec.network_disabled:
        host["NetworkMode"] = "none"
    elif spec.network is not None:
        host["NetworkMode"] = spec.network.name
    if spec.mounts:
        host["Mounts"] = mount_config(spec.mounts)
    return host


def cpu_shares(cpu: float) -> int:
    """The CPU shares of a request of `cpu` cores (1024 per core, as the engines count)."""
    return max(2, int(cpu * 1024))


def log_config(engine: str, size: int) -> dict:
    """The engine's log of the main command's output, at most `size` bytes on disk. Docker's
    json-file rotates into one older file, so each gets half; Podman's k8s-file (conmon's
    --log-size-max, which its compat API sets from max-size) starts anew when full."""
    if engine == "podman":
        return {"Type": "k8s-file", "Config": {"max-size": str(size)}}
    return {"Type": "json-file", "Config": {"max-size": str(size // 2), "max-file": "2"}}


def with_open_files(ulimits: list[dict], open_files: int) -> list[dict]:
    """`ulimits` with nofile set to `open_files` (when given), no higher than their own nofile."""
    if not open_files:
        return list(ulimits)
    ceiling = next((u["Hard"] for u in ulimits if u["Name"] == "nofile"), open_files)
    value = min(open_files, ceiling)
    return [u for u in ulimits if u["Name"] != "nofile"] + [{"Name": "nofile", "Soft": value, "Hard": value}]


def mount_config(mounts: dict[str, str]) -> list[dict]:
    """HostConfig.Mounts for engine volumes (container path -> volume name)."""
    for path, volume in mounts.items():
        if not _MOUNT_TARGET.match(path) or not _VOLUME_NAME.match(volume) or "/../" in path + "/":
            raise EngineError(
                f"refusing to mount volume {volume!r} at {path!r}: an engine could read "
                "characters of it as mount options"
            )
    return [
        {"Type": "volume", "Source": volume, "Target": path, "ReadOnly": False}
        for path, volume in mounts.items()
    ]


def check_created(data: dict, host: dict, mounts: dict[str, str]) -> None:
    """Refuse a created container that differs from what was asked for: an engine that dropped
    a resource limit (one on a host without the cgroup controller may ignore it) would run the
    sandbox unlimited, and mounts other than the volumes asked for (or the image's own declared
    volumes) would show it more than its own files."""
    got = data.get("HostConfig") or {}
    for key in _LIMITS:
        if key in host and int(got.get(key) or 0) != int(host[key]):
            raise EngineError(
                f"the engine did not apply {_LIMITS[key]} (asked {host[key]}, got "
                f"{got.get(key)}); refusing to run the sandbox without it"
            )
    declared = set((data.get("Config") or {}).get("Volumes") or {})
    wanted = dict(mounts)
    for mount in data.get("Mounts") or []:
        destination = mount.get("Destination", "")
        if mount.get("Type") != "volume":
            raise EngineError(
                f"the engine mounted a {mount.get('Type')} at {destination!r}, which was not asked for"
            )
        if destination in wanted:
            if mount.get("Name") != wanted.pop(destination) or not mount.get("RW", True):
                raise EngineError(f"the engine mounted another volume at {destination!r} than asked for")
        elif destination not in declared:
            raise EngineError(f"the engine mounted a volume at {destination!r}, which was not asked for")
    if wanted:
        raise EngineError(f"the engine did not mount the volumes asked for at {', '.join(sorted(wanted))}")
