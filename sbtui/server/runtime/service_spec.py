"""What a sandbox's ContainerSpec becomes as a swarm service: one replica, never restarted,
with the confinement and limits of container_config.py in the service's terms.

CPU and memory requests become reservations (what SwarmKit places by), limits become limits.
"""

from __future__ import annotations

from sbtui.server.runtime import container_config, launcher
from sbtui.server.runtime.base import ContainerSpec

# A sandbox is reached at its task's own address: a virtual IP in front of it (the default)
# would take a second address from the environment's overlay subnet (a /24 by default: ~125
# sandboxes instead of ~250) and have every node on the network program a load balancer.
ENDPOINT = {"Mode": "dnsrr"}


def service_spec(
    spec: ContainerSpec,
    image: str,
    constraints: list[str],
    network: str,
    ulimits: list[dict],
    entrypoint: list[str] | None = None,
) -> dict:
    """The body of a service create for `spec`, running `image` (the reference nodes pull) on
    the overlay `network`. Its command, the image's `entrypoint` then spec.command, starts
    through launcher.py."""
    container: dict = {
        "Image": image,
        "Env": [f"{k}={v}" for k, v in spec.env.items()],
        "Labels": spec.labels,
        "Dir": spec.workdir,
        "TTY": spec.tty,
        "OpenStdin": spec.tty,
        "Init": False,
        # Killed at once, as the local runtime kills: a terminate or a timeout is no request.
        "StopSignal": "SIGKILL",
        "StopGracePeriod": 0,
        "CapabilityDrop": ["ALL"],
        "CapabilityAdd": [f"CAP_{c}" for c in container_config.CAPABILITIES],
    }
    ulimits = container_config.with_open_files(ulimits, spec.open_files)
    if ulimits:
        container["Ulimits"] = ulimits
    # The command through launcher.py: no new privileges, behind the gate until the create has
    # seen it found (and an allowlist in force).
    container["Command"] = launcher.launched([*(entrypoint or []), *spec.command], gated=True)
    volumes = container_config.mount_config(spec.mounts) if spec.mounts else []
    container["Mounts"] = [*volumes, launcher.mount()]
    limits: dict = {"Pids": spec.pids_limit}
    reservations: dict = {}
    if spec.cpu_limit:
        limits["NanoCPUs"] = int(spec.cpu_limit * 1e9)
    if spec.memory_limit_mib:
        limits["MemoryBytes"] = spec.memory_limit_mib * 2**20
    if spec.cpu:
        reservations["NanoCPUs"] = int(spec.cpu * 1e9)
    if spec.memory_mib:
        reservations["MemoryBytes"] = spec.memory_mib * 2**20
    template: dict = {
        "ContainerSpec": container,
        "Resources": {"Limits": limits, "Reservations": reservations},
        "RestartPolicy": {"Condition": "none", "MaxAttempts": 0},
        "Placement": {"Constraints": constraints},
    }
    if spec.log_bytes:
        log = container_config.log_config("docker", spec.log_bytes)
        template["LogDriver"] = {"Name": log["Type"], "Options": log["Config"]}
    if network:
        template["Networks"] = [{"Target": network}]
    return {
        "Name": spec.name,
        "Labels": spec.labels,
        "TaskTemplate": template,
        "Mode": {"Replicated": {"Replicas": 1}},
        "EndpointSpec": ENDPOINT,
    }


def stopped(service: dict) -> dict:
    """The spec of `service` (an inspect) scaled to no replica: its task's container is killed
    and kept, with its exit and its output, until the service is removed."""
    spec = dict(service.get("Spec") or {})
    spec["Mode"] = {"Replicated": {"Replicas": 0}}
    return spec
