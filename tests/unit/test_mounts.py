"""The runtime's own guard on mounts: what it sends can't be read as mount options, and a created
container is started only if the engine mounted exactly what was asked for."""

from __future__ import annotations

import pytest

from sbtui.server.runtime.base import EngineError
from sbtui.server.runtime.container_config import check_created, mount_config


@pytest.mark.parametrize(
    "path, volume",
    [
        ("/x,source=v,volume-opt=o=bind,volume-opt=device=/etc", "sbtui-vo-1"),
        ("/x,dst=/y", "sbtui-vo-1"),
        ("/x:/etc:rw", "sbtui-vo-1"),
        ("/x=y", "sbtui-vo-1"),
        ("/x y", "sbtui-vo-1"),
        ("/x\n", "sbtui-vo-1"),
        ("/x/../etc", "sbtui-vo-1"),
        ("/x/", "sbtui-vo-1"),
        ("x", "sbtui-vo-1"),
        ("/data", "v,volume-opt=device=/etc"),
        ("/data", "/etc"),
        ("/data", ""),
    ],
)
def test_mounts_that_an_engine_could_reinterpret_are_refused(path, volume):
    with pytest.raises(EngineError, match="could read characters of it as mount options"):
        mount_config({path: volume})


def test_plain_mounts_pass_as_structured_volume_mounts():
    assert mount_config({"/data/a.b_c-d+e@f~g": "sbtui-vo-1"}) == [
        {"Type": "volume", "Source": "sbtui-vo-1", "Target": "/data/a.b_c-d+e@f~g", "ReadOnly": False}
    ]


def _created(mounts: list[dict], volumes: dict | None = None, host: dict | None = None) -> dict:
    return {"Mounts": mounts, "Config": {"Volumes": volumes}, "HostConfig": host or {}}


ASKED = {"/data": "sbtui-vo-1"}
OURS = {"Type": "volume", "Name": "sbtui-vo-1", "Destination": "/data", "RW": True}


def test_a_container_with_the_mounts_asked_for_passes():
    check_created(_created([OURS]), {}, ASKED)
    # An anonymous volume of a VOLUME the image declares is the image's own, not a host's.
    anonymous = {"Type": "volume", "Name": "f" * 64, "Destination": "/var/lib/db", "RW": True}
    check_created(_created([OURS, anonymous], {"/var/lib/db": {}}), {}, ASKED)


@pytest.mark.parametrize(
    "mounts, words",
    [
        (
            [OURS, {"Type": "bind", "Source": "/etc", "Destination": "/x", "RW": True}],
            "mounted a bind at '/x'",
        ),
        (
            [OURS, {"Type": "volume", "Name": "other", "Destination": "/x", "RW": True}],
            "at '/x', which was not asked",
        ),
        ([dict(OURS, Name="attacker")], "another volume at '/data'"),
        ([dict(OURS, RW=False)], "another volume at '/data'"),
        ([], "did not mount the volumes asked for at /data"),
    ],
)
def test_a_container_mounted_otherwise_is_refused(mounts, words):
    with pytest.raises(EngineError, match=words):
        check_created(_created(mounts), {}, ASKED)


def test_a_dropped_limit_is_refused():
    with pytest.raises(EngineError, match="did not apply memory_limit_mib"):
        check_created(_created([], host={"Memory": 0}), {"Memory": 64 << 20}, {})
