"""A sandbox's create parameters: as rows to show, and as keywords to create it again.

`SandboxInfo.params` is the SandboxCreateParams the server keeps, as set at create; secrets in it
are names only (the server never sends values), and that is all we show of them.
"""

from __future__ import annotations

import shlex
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


def _bucket(mount) -> str:
    parts = [mount.bucket_name]
    if mount.key_prefix:
        parts.append(f"prefix {mount.key_prefix}")
    if mount.bucket_endpoint_url:
        parts.append(mount.bucket_endpoint_url)
    if mount.secret_id:
        parts.append(f"secret {mount.secret_id}")
    if mount.read_only:
        parts.append("read-only")
    if mount.requester_pays:
        parts.append("requester pays")
    return ", ".join(parts)


def param_rows(info: SandboxInfo) -> list[tuple[str, str]]:
    """(label, value) for every create parameter, in the order of the create form's groups."""
    p = info.params
    opt = p.HasField
    rows = [
        ("name", p.name or UNSET),
        ("image", info.image_tag or info.image_id),
        ("image id", info.image_id or UNSET),
        ("command", _command(p.command)),
        ("workdir", p.workdir or "(the image's default)"),
        ("cpu", _cores(p.cpu) if opt("cpu") else UNSET),
        ("cpu limit", _cores(p.cpu_limit) if opt("cpu_limit") else UNSET),
        ("memory", mebibytes(p.memory_mib) if opt("memory_mib") else UNSET),
        ("memory limit", mebibytes(p.memory_limit_mib) if opt("memory_limit_mib") else UNSET),
        ("gpu", p.gpu or UNSET),
        ("timeout", duration_text(p.timeout) if opt("timeout") else "5m (default)"),
        ("idle timeout", duration_text(p.idle_timeout) if opt("idle_timeout") else UNSET),
        ("pty", "yes" if p.pty else "no"),
        ("encrypted ports", _list(p.encrypted_ports)),
        ("h2 ports", _list(p.h2_ports)),
        ("unencrypted ports", _list(p.unencrypted_ports)),
        ("block network", "yes" if p.block_network else "no"),
        ("cidr allowlist", _list(p.cidr_allowlist)),
        ("custom domain", p.custom_domain or UNSET),
        ("proxy", p.proxy_id or UNSET),
        ("env", _pairs(p.env)),
        ("secrets", _list(p.secret_ids)),
        ("volumes", _pairs(p.volumes)),
        ("bucket mounts", "  ".join(
            f"{path}={_bucket(m)}" for path, m in sorted(p.cloud_bucket_mounts.items())) or UNSET),
        ("cloud", p.cloud or UNSET),
        ("regions", _list(p.regions)),
        ("verbose", "yes" if p.verbose else "no"),
    ]
    return rows


def create_kwargs(info: SandboxInfo) -> dict[str, Any]:
    """Keywords for `client.sandboxes.create` that repeat `info`'s parameters.

    The name is left out: a name is unique among an app's running sandboxes, so a copy made while
    the original runs would be refused.
    """
    p = info.params
    kwargs: dict[str, Any] = {
        "gpu": p.gpu or None, "workdir": p.workdir or None, "command": list(p.command) or None,
        "env": dict(p.env), "secrets": list(p.secret_ids), "volumes": dict(p.volumes),
        "cloud_bucket_mounts": {
            path: CloudBucketMount(
                bucket_name=m.bucket_name, bucket_endpoint_url=m.bucket_endpoint_url,
                key_prefix=m.key_prefix, secret=m.secret_id, read_only=m.read_only,
                requester_pays=m.requester_pays,
            )
            for path, m in p.cloud_bucket_mounts.items()
        },
        "pty": p.pty, "encrypted_ports": list(p.encrypted_ports), "h2_ports": list(p.h2_ports),
        "unencrypted_ports": list(p.unencrypted_ports), "block_network": p.block_network,
        "cidr_allowlist": list(p.cidr_allowlist), "cloud": p.cloud or None,
        "regions": list(p.regions), "verbose": p.verbose, "proxy": p.proxy_id or None,
        "custom_domain": p.custom_domain or None,
    }
    for field in ("cpu", "cpu_limit", "memory_mib", "memory_limit_mib", "timeout", "idle_timeout"):
        if p.HasField(field):
            kwargs[field] = getattr(p, field)
    return kwargs
