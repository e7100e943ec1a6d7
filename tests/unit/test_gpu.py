"""GPU specs, the host's NVIDIA GPUs as the driver lists them, and the engine's device request."""

from __future__ import annotations

import pytest

from sbtui.server.runtime import gpu
from sbtui.server.runtime.base import GpuUnavailable
from sbtui.server.runtime.gpu import PODMAN_GPU, assign_gpus, gpu_host_config

T4 = gpu.HostGpu(0, "Tesla T4", "GPU-1111")
A100_A = gpu.HostGpu(1, "NVIDIA A100-SXM4-40GB", "GPU-2222")
A100_B = gpu.HostGpu(2, "NVIDIA A100-SXM4-40GB", "GPU-3333")


def _driver(tmp_path, gpus: dict[str, str], control: bool = True):
    """A /dev and a /proc/driver/nvidia/gpus as the NVIDIA driver lays them out."""
    devices, driver = tmp_path / "dev", tmp_path / "gpus"
    devices.mkdir()
    driver.mkdir()
    if control:
        (devices / "nvidiactl").touch()
    for bus, information in gpus.items():
        (driver / bus).mkdir()
        (driver / bus / "information").write_text(information)
    return devices, driver


def _information(model: str, uuid: str) -> str:
    return (
        f"Model: \t\t {model}\nIRQ:   \t\t 35\nGPU UUID: \t {uuid}\nVideo BIOS: \t 90.04.38.00.03\n"
        "Bus Type: \t PCIe\nBus Location: \t 0000:00:1e.0\nDevice Minor: \t 0\n"
    )


@pytest.mark.parametrize(
    "spec, kind, count", [("T4", "T4", 1), ("A100:2", "A100", 2), ("H100:16", "H100", 16)]
)
def test_a_spec_is_a_type_and_a_count(spec, kind, count):
    assert gpu.parse(spec) == gpu.GpuRequest(kind, count)


def test_the_host_gpus_come_from_the_driver_in_bus_order(tmp_path):
    devices, driver = _driver(
        tmp_path,
        {
            "0000:00:1f.0": _information("NVIDIA A100-SXM4-40GB", "GPU-2222"),
            "0000:00:1e.0": _information("Tesla T4", "GPU-1111"),
        },
    )
    assert gpu.host_gpus(devices, driver) == [
        gpu.HostGpu(0, "Tesla T4", "GPU-1111"),
        gpu.HostGpu(1, "NVIDIA A100-SXM4-40GB", "GPU-2222"),
    ]


def test_no_control_device_means_no_gpu(tmp_path):
    t4 = {"0000:00:1e.0": _information("Tesla T4", "GPU-1111")}
    devices, driver = _driver(tmp_path, t4, control=False)
    assert gpu.host_gpus(devices, driver) == []
    assert gpu.host_gpus(tmp_path / "nothing", tmp_path / "nothing") == []


def test_a_gpu_without_a_uuid_is_named_by_its_index(tmp_path):
    devices, driver = _driver(tmp_path, {"0000:00:1e.0": _information("Tesla T4", "??")})
    [found] = gpu.host_gpus(devices, driver)
    assert found.uuid == "" and found.device_id == "0"


@pytest.mark.parametrize(
    "kind, model, fits",
    [
        ("T4", "Tesla T4", True),
        ("t4", "Tesla T4", True),
        ("A100", "NVIDIA A100-SXM4-40GB", True),
        ("A10", "NVIDIA A100-SXM4-40GB", False),
        ("RTX-4090", "NVIDIA GeForce RTX 4090", True),
        ("T4", "NVIDIA L4", False),
    ],
)
def test_the_type_must_name_the_model(kind, model, fits):
    assert gpu.matches(kind, model) is fits


def test_selection_takes_gpus_of_the_type_asked_for():
    host = [T4, A100_A, A100_B]
    assert gpu.select(gpu.GpuRequest("A100", 2), host) == [A100_A, A100_B]
    assert gpu.select(gpu.GpuRequest("T4", 1), host) == [T4]


def test_a_host_without_gpus_says_so_and_what_to_do():
    with pytest.raises(GpuUnavailable, match="this host has no NVIDIA GPU") as caught:
        gpu.select(gpu.GpuRequest("T4", 1), [])
    assert "create the sandbox without gpu" in str(caught.value)


def test_a_type_the_host_lacks_names_what_it_has():
    with pytest.raises(GpuUnavailable, match=r"no H100 GPU, only 1 x Tesla T4, 2 x NVIDIA A100-SXM4-40GB"):
        gpu.select(gpu.GpuRequest("H100", 1), [T4, A100_A, A100_B])


def test_more_gpus_than_the_host_has_are_refused():
    with pytest.raises(
        GpuUnavailable, match="2 T4 GPUs were asked for and this host has 1; ask for at most 1"
    ):
        gpu.select(gpu.GpuRequest("T4", 2), [T4, A100_A])


def test_docker_gets_a_device_request_for_the_chosen_gpus():
    ids = assign_gpus("docker", "A100:2", [T4, A100_A, A100_B])
    assert ids == ["GPU-2222", "GPU-3333"]
    assert gpu_host_config(ids) == {
        "DeviceRequests": [
            {"Driver": "nvidia", "DeviceIDs": ["GPU-2222", "GPU-3333"], "Capabilities": [["gpu"]]}
        ]
    }


def test_podman_is_refused_even_on_a_gpu_host():
    with pytest.raises(GpuUnavailable) as caught:
        assign_gpus("podman", "T4", [T4])
    assert str(caught.value) == PODMAN_GPU


def test_the_host_lacking_gpus_is_said_before_the_engine():
    with pytest.raises(GpuUnavailable, match="this host has no NVIDIA GPU"):
        assign_gpus("podman", "T4", [])
