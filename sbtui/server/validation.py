"""Checks of what a client asks for, before anything reaches the engine.

Each failure names the field, says what was wrong and what is accepted.
"""

from __future__ import annotations

import ipaddress
import math
import re

from sbtui.proto import sandbox_pb2 as pb
from sbtui.server.errors import invalid, unsupported

MAX_TIMEOUT = 24 * 3600.0
DEFAULT_TIMEOUT = 300.0
MIN_MEMORY_MIB = 6  # the engines refuse smaller hard limits
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_GPU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*(:[1-9][0-9]?)?$")


def check_name(field: str, value: str) -> None:
    if not _NAME.match(value):
        raise invalid(
            field,
            f"{value!r} is not a valid name: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
        )


def check_env(field: str, env: dict[str, str]) -> None:
    for key, value in env.items():
        if not key:
            raise invalid(field, "an environment variable name is empty")
        if "=" in key:
            raise invalid(field, f"variable name {key!r} contains '='; pass KEY and VALUE apart")
        if "\0" in key or "\0" in value:
            raise invalid(field, f"variable {key!r} contains a NUL byte")


def check_command(field: str, command: list[str], required: bool) -> None:
    if required and not command:
        raise invalid(field, "is empty: give the program to run and its arguments")
    for i, part in enumerate(command):
        if "\0" in part:
            raise invalid(f"{field}[{i}]", "contains a NUL byte")
    if command and not command[0]:
        raise invalid(f"{field}[0]", "the program name is empty")


def check_workdir(field: str, workdir: str) -> None:
    if workdir and not workdir.startswith("/"):
        raise invalid(field, f"{workdir!r} is not an absolute path; it must start with '/'")


def _check_duration(field: str, value: float, allow_zero: bool) -> None:
    if math.isnan(value) or value < 0 or (value == 0 and not allow_zero):
        raise invalid(field, f"must be a positive number of seconds, got {value}")
    if value > MAX_TIMEOUT:
        raise invalid(field, f"{value:.0f}s is longer than the maximum of 24h")


_PORT_FIELDS = ("encrypted_ports", "h2_ports", "unencrypted_ports")
MAX_PORTS = 100  # each port costs the server one or two listening sockets
_DNS_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def check_domain(field: str, name: str) -> None:
    """A DNS host name: dot-separated labels of letters, digits and inner hyphens."""
    problem = ""
    labels = name.split(".")
    if len(name) > 253:
        problem = "is longer than 253 characters"
    elif not all(_DNS_LABEL.match(label) for label in labels):
        problem = ("is not a DNS name: use labels of 1-63 letters, digits or '-' (not first or "
                   "last), joined by '.', with no trailing dot")
    elif labels[-1].isdigit():
        problem = "is an IP address or ends in a numeric label; give a DNS name"
    if problem:
        raise invalid(field, f"{name!r} {problem}")


def _check_ports(params: pb.SandboxCreateParams) -> None:
    seen: dict[int, str] = {}
    for field in _PORT_FIELDS:
        for port in getattr(params, field):
            if not 1 <= port <= 65535:
                raise invalid(field, f"port {port} is outside 1-65535")
            if port in seen:
                raise invalid(field, f"port {port} is also listed in {seen[port]}")
            seen[port] = field
    if len(seen) > MAX_PORTS:
        raise invalid(
            next(f for f in reversed(_PORT_FIELDS) if getattr(params, f)),
            f"{len(seen)} ports are declared; a sandbox may declare at most {MAX_PORTS}",
        )
    declared = next((field for field in _PORT_FIELDS if getattr(params, field)), None)
    if declared and params.block_network:
        raise invalid(
            declared, "cannot be used with block_network: a sandbox without a network has no "
            "port to tunnel into; drop one of them"
        )
    if params.custom_domain:
        check_domain("custom_domain", params.custom_domain)
        if not declared:
            raise invalid(
                "custom_domain", "names the host of tunnels, but no port is declared: give "
                "encrypted_ports, h2_ports or unencrypted_ports"
            )


def check_create(params: pb.SandboxCreateParams) -> None:
    """Raise a ServiceError for the first field that is wrong or that this server can't honour."""
    for field in ("cpu", "cpu_limit"):
        if params.HasField(field):
            value = getattr(params, field)
            if not value > 0 or math.isinf(value):
                raise invalid(field, f"must be more than 0 cores, got {value}")
    if params.HasField("cpu") and params.HasField("cpu_limit") and params.cpu_limit < params.cpu:
        raise invalid(
            "cpu_limit", f"{params.cpu_limit} cores is below the request cpu={params.cpu}"
        )
    for field in ("memory_mib", "memory_limit_mib"):
        if params.HasField(field):
            value = getattr(params, field)
            if value <= 0:
                raise invalid(field, f"must be more than 0 MiB, got {value}")
    if params.HasField("memory_limit_mib"):
        if params.memory_limit_mib < MIN_MEMORY_MIB:
            raise invalid("memory_limit_mib", f"must be at least {MIN_MEMORY_MIB} MiB")
        if params.HasField("memory_mib") and params.memory_limit_mib < params.memory_mib:
            raise invalid(
                "memory_limit_mib",
                f"{params.memory_limit_mib} MiB is below the request memory_mib={params.memory_mib}",
            )
    if params.HasField("timeout"):
        _check_duration("timeout", params.timeout, allow_zero=False)
    if params.HasField("idle_timeout"):
        _check_duration("idle_timeout", params.idle_timeout, allow_zero=False)
    check_workdir("workdir", params.workdir)
    check_command("command", list(params.command), required=False)
    check_env("env", dict(params.env))
    if params.name:
        check_name("name", params.name)
    _check_ports(params)
    if params.gpu and not _GPU.match(params.gpu):
        raise invalid("gpu", f"{params.gpu!r} is not a GPU spec: use a type like 'T4' or 'A100:2'")
    if params.block_network and params.cidr_allowlist:
        raise invalid("cidr_allowlist", "cannot be used with block_network; choose one")
    for network in params.cidr_allowlist:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise invalid(
                "cidr_allowlist", f"{network!r} is not a CIDR range like '10.0.0.0/8' or '2001:db8::/32'"
            ) from None
    for path in params.volumes:
        check_workdir("volumes", path)
    _refuse_unsupported(params)


# Fields the local engine can't honour, with the reason given to the client. (gpu depends on
# the host and the engine, so the sandbox manager asks the runtime about it.)
_UNSUPPORTED = (
    ("cloud_bucket_mounts", "cloud bucket mounts need a cloud provider; this server runs sandboxes on a local engine"),
    ("cloud", "this server runs sandboxes on its local engine; there is no cloud to choose"),
    ("regions", "this server runs sandboxes on its local engine; there are no regions to choose"),
    ("proxy_id", "there is no proxy service on this server"),
)


def _refuse_unsupported(params: pb.SandboxCreateParams) -> None:
    for field, reason in _UNSUPPORTED:
        value = getattr(params, field)
        if value if isinstance(value, str) else len(value):
            raise unsupported(field, reason)


def check_exec(start: pb.ExecStart) -> None:
    check_command("command", list(start.command), required=True)
    check_workdir("workdir", start.workdir)
    check_env("env", dict(start.env))
    if start.HasField("timeout"):
        _check_duration("timeout", start.timeout, allow_zero=False)
    if start.pty and not (0 <= start.rows <= 1000 and 0 <= start.cols <= 1000):
        raise invalid("rows/cols", "a terminal is at most 1000 rows by 1000 columns")


def check_tags(tags: dict[str, str]) -> None:
    for key, value in tags.items():
        if not key or len(key) > 128:
            raise invalid("tags", f"tag name {key!r} must be 1-128 characters")
        if len(value) > 1024:
            raise invalid("tags", f"the value of tag {key!r} is longer than 1024 characters")
