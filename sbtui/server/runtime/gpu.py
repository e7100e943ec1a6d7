"""GPUs for sandboxes: what a GPU spec asks for, and which of this host's NVIDIA GPUs give it.

A spec is a type and a count, "T4" or "A100:2". One host can't conjure a type it lacks, so the
type must name the model of GPUs the host has (as the NVIDIA driver reports it: "T4" matches
"Tesla T4", "A100" matches "NVIDIA A100-SXM4-40GB"), and the count is how many of those the
sandbox gets. GPUs are read from the driver's /proc files, so no NVIDIA tool is needed to tell
whether a host has any.

Which engines can attach them: Docker, through a device request for the NVIDIA driver (which
the NVIDIA Container Toolkit serves); not Podman, whose compat API ignores device requests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sbtui.server.runtime.base import GpuUnavailable

DEVICES = Path("/dev")
DRIVER_GPUS = Path("/proc/driver/nvidia/gpus")
NO_GPU = (
    "this host has no NVIDIA GPU (no GPU under /proc/driver/nvidia/gpus or no /dev/nvidiactl); "
    "create the sandbox without gpu, or use a server on a host with NVIDIA GPUs"
)
PODMAN_GPU = (
    "Podman's Docker-compatible API, which this server drives, can't attach GPUs to a container "
    "(Podman 4 ignores device requests and CDI device names there); run the server on Docker "
    "with the NVIDIA Container Toolkit to use gpu, or create the sandbox without gpu"
)


@dataclass(frozen=True)
class GpuRequest:
    kind: str
    count: int


@dataclass(frozen=True)
class HostGpu:
    index: int  # the driver's order (PCI bus order), the one nvidia-smi numbers GPUs by
    model: str  # e.g. "Tesla T4"
    uuid: str  # e.g. "GPU-8d3b...", empty if the driver did not say

    @property
    def device_id(self) -> str:
        """How the NVIDIA container tools name this GPU: its UUID, else its index."""
        return self.uuid or str(self.index)


def parse(spec: str) -> GpuRequest:
    """'A100:2' -> A100 twice; 'T4' -> one T4. The spec's form is checked by validation."""
    kind, _, count = spec.partition(":")
    return GpuRequest(kind, int(count) if count else 1)


def host_gpus(devices: Path = DEVICES, driver: Path = DRIVER_GPUS) -> list[HostGpu]:
    """This host's NVIDIA GPUs; none without the driver's control device."""
    if not (devices / "nvidiactl").exists() or not driver.is_dir():
        return []
    found = []
    # One directory per GPU, named by its PCI bus id: sorted, that is the driver's order.
    for index, entry in enumerate(sorted(driver.iterdir())):
        fields = {}
        try:
            for line in (entry / "information").read_text().splitlines():
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
        except OSError:
            continue
        uuid = fields.get("GPU UUID", "")
        found.append(HostGpu(index, fields.get("Model", ""), uuid if uuid.startswith("GPU-") else ""))
    return found


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^A-Z0-9]+", text.upper()) if w]


def matches(kind: str, model: str) -> bool:
    """Whether a spec's type names this model: all its words appear among the model's words
    ("A10" is not "A100")."""
    model_words = _words(model)
    return bool(_words(kind)) and all(w in model_words for w in _words(kind))


def select(request: GpuRequest, gpus: list[HostGpu]) -> list[HostGpu]:
    """The host GPUs that give `request`; GpuUnavailable says why none can."""
    if not gpus:
        raise GpuUnavailable(NO_GPU)
    fitting = [g for g in gpus if matches(request.kind, g.model)]
    if not fitting:
        models: dict[str, int] = {}
        for g in gpus:
            models[g.model] = models.get(g.model, 0) + 1
        have = ", ".join(f"{n} x {model}" for model, n in models.items())
        raise GpuUnavailable(
            f"this host has no {request.kind} GPU, only {have}; ask for a type named in those "
            f"models, or use a server on a host with {request.kind} GPUs"
        )
    if len(fitting) < request.count:
        raise GpuUnavailable(
            f"{request.count} {request.kind} GPUs were asked for and this host has "
            f"{len(fitting)}; ask for at most {len(fitting)}"
        )
    return fitting[: request.count]


def no_gpus(engine: str, host: list[HostGpu]) -> str:
    """Why no sandbox on `engine` can have any GPU of this host, "" if some spec may be given.
    What the host lacks is said first: no engine can change that."""
    if not host:
        return NO_GPU
    return PODMAN_GPU if engine == "podman" else ""


def assign_gpus(engine: str, spec: str, host: list[HostGpu]) -> list[str]:
    """Device ids of the host GPUs that give `spec` on `engine`; GpuUnavailable if none can."""
    reason = no_gpus(engine, host)
    if reason:
        raise GpuUnavailable(reason)
    return [g.device_id for g in select(parse(spec), host)]


def gpu_host_config(device_ids: list[str]) -> dict:
    """The HostConfig fields that give a Docker container these NVIDIA GPUs: a device request
    for the NVIDIA driver, by id rather than by count, so the GPUs given are the type asked for
    and not merely the first ones the driver lists."""
    return {
        "DeviceRequests": [{"Driver": "nvidia", "DeviceIDs": list(device_ids), "Capabilities": [["gpu"]]}]
    }


def driver_missing(message: str) -> GpuUnavailable | None:
    """The error for an engine's refusal of the device request (`message`) when the NVIDIA
    Container Toolkit is missing; None when the refusal is about something else."""
    if "device driver" not in message:
        return None
    return GpuUnavailable(
        f"Docker on this host has no NVIDIA device driver ({message}); install the NVIDIA "
        "Container Toolkit (nvidia-container-toolkit) and restart dockerd, or create the "
        "sandbox without gpu"
    )
