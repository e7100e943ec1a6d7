"""A sandbox's create parameters: as rows to show, and as keywords to create it again.

`SandboxInfo.params` holds them as the server keeps them, as set at create; secrets in it are
names only (the server never sends values), and that is all we show of them.
"""

from __future__ import annotations

import shlex
from dataclasses import replace
from typing import Any

from sbtui.client import CloudBucketMount, SandboxInfo
from sbtui.text import duration_text, mebibytes

UNSET = "-"


def _cores(value: float) -> str:
    return f"{value:g} core" + ("" if value == 1 else "s")


def _pairs(mapping) -> str:
    return "  ".join(f"{k}={v}" for k, v in sorted(mapping.items())) or UNSET


def _list(values) -> str:
    return ", ".join(str(v) for v in values) or UNSET


def _command(words) -> str:
    return shlex.join(list(words)) if words else "(the image's default)"


def _bucket(mount: CloudBucketMount) -> str:
    parts = [mount.bucket_name]
    if mount.key_prefix:
        parts.append(f"prefix {mount.key_prefix}")
    if mount.bucket_endpoint_url:
        parts.append(mount.bucket_endpoint_url)
    if mount.secret:
        parts.append(f"secret {mount.secret}")
    if mount.read_only:
        parts.append("read-only")
    if mount.requester_pays:
        parts.append("requester pays")
    return ", ".join(parts)


def param_rows(info: SandboxInfo) -> list[tuple[str, str]]:
    """(label, value) for every create parameter, in the order of the create form's groups."""
    p = info.params
    rows = [
        ("name", p.name or UNSET),
        ("image", info.image_tag or info.image_id),
        ("image id", info.image_id or UNSET),
        ("command", _command(p.command)),
        ("workdir", p.workdir or "(the image's default)"),
        ("cpu", UNSET if p.cpu is None else _cores(p.cpu)),
        ("cpu limit", UNSET if p.cpu_limit is None else _cores(p.cpu_limit)),
        ("memory", UNSET if p.memory_mib is None else mebibytes(p.memory_mib)),
        ("memory limit", UNSET if p.memory_limit_mib is None else mebibytes(p.memory_limit_mib)),
        ("gpu", p.gpu or UNSET),
        ("timeout", "5m (default)" if p.timeout is None else duration_text(p.timeout)),
        ("idle timeout", UNSET if p.idle_timeout is None else duration_text(p.idle_timeout)),
        ("pty", "yes" if p.pty else "no"),
        ("encrypted ports", _list(p.encrypted_ports)),
        ("h2 ports", _list(p.h2_ports)),
        ("unencrypted ports", _list(p.unencrypted_ports)),
        ("block network", "yes" if p.block_network else "no"),
        ("cidr allowlist", _list(p.cidr_allowlist)),
        ("custom domain", p.custom_domain or UNSET),
        ("proxy", p.proxy or UNSET),
        ("env", _pairs(p.env)),
        ("secrets", _list(p.secrets)),
        ("volumes", _pairs(p.volumes)),
        (
            "bucket mounts",
            "  ".join(f"{path}={_bucket(m)}" for path, m in sorted(p.cloud_bucket_mounts.items())) or UNSET,
        ),
        ("cloud", p.cloud or UNSET),
        ("regions", _list(p.regions)),
        ("verbose", "yes" if p.verbose else "no"),
    ]
    return rows


def create_kwargs(info: SandboxInfo) -> dict[str, Any]:
    """Keywords for `client.sandboxes.create` that repeat `info`'s parameters.

    All but the name: a name is unique among an app's running sandboxes, so a copy made while
    the original runs would be refused.
    """
    return replace(info.params, name="").keywords()
