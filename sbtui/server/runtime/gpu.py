"""GPUs for sandboxes: what a GPU spec asks for, and which of this host's NVIDIA GPUs give it.

A spec is a type and a count, "T4" or "A100:2". One host can't conjure a type it lacks, so the
type must name the model of GPUs the host has (as the NVIDIA driver reports it: "T4" matches
"Tesla T4", "A100" matches "NVIDIA A100-SXM4-40GB"), and the count is how many of those the
sandbox gets. GPUs are read from the driver's /proc files, so no NVIDIA tool is needed to tell
whether a host has any. Which engine can attach them is runtime/docker.py's business.
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


@dataclass(frozen=True)
class GpuRequest:
    kind: str
    count: int


@dataclass(frozen=True)
class HostGpu:
    index: int   # the driver's order (PCI bus order), the one nvidia-smi numbers GPUs by
    model: str   # e.g. "Tesla T4"
    uuid: str    # e.g. "GPU-8d3b...", empty if the driver did not say

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
