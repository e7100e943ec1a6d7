"""Checks of what a client asks for, before anything reaches the engine.

Each failure names the field, says what was wrong and what is accepted.

What a tenant-given string may hold. A string a client sends may reach an engine call (a path,
a name, an option string the engine parses again: Podman's compatibility API joins a mount into
one comma-separated `--mount` string), a host tool, a log line or an operator's terminal. So each
field gets the narrowest set that still holds every value meant for it:

| field                                    | may hold                                             |
|------------------------------------------|------------------------------------------------------|
| names: app, sandbox, secret, volume,     | 1-64 letters, digits, '.', '_', '-', starting with a |
| environment (and refs to them by name)   | letter or digit                                      |
| volume mount paths                       | absolute; components of letters, digits, '.', '_',   |
|                                          | '-', '+', '@', '~'; no '..'; at most 1024 characters  |
| workdir                                  | absolute; no control characters; at most 1024        |
| env and secret keys                      | 1-256 letters, digits, '_', '.', '-'; not a digit    |
|                                          | first                                                |
| env and secret values, command arguments | anything but NUL (newlines are meant: certificates,  |
|                                          | scripts); each under the kernel's 128 KiB per string, |
|                                          | with env and command together within 1 MiB            |
| tag keys                                 | 1-128 letters, digits, '.', '_', '-', '/', ':'       |
| tag values                               | at most 1024 characters, none of them control ones   |
| custom_domain                            | a DNS host name (check_domain)                       |
| TERM of a PTY exec                       | 1-64 letters, digits, '.', '_', '+', '-'             |
| token descriptions                       | at most 200 characters, none of them control ones    |

Control characters are C0 (NUL to US, newline and ESC among them), DEL and C1. Image
references, CIDR ranges and GPU specs are parsed against their own grammars below or in
images.py, and ids are only ever looked up.
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
MIN_CPU_LIMIT = 0.01  # Docker's smallest CPU quota
# execve refuses a single argument or variable of 32 pages (MAX_ARG_STRLEN) or more, and all of
# them together past a quarter of the stack limit (2 MiB at the usual 8 MiB); the engine and the
# image add variables of their own, so a sandbox's share is kept to half of that.
MAX_ARG_BYTES = 128 * 1024 - 1
MAX_ARGS_TOTAL = 1024 * 1024
MAX_PATH = 1024
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 1024
MAX_DESCRIPTION = 200
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
_ENV_KEY = re.compile(r"^[A-Za-z_.-][A-Za-z0-9_.-]{0,255}\Z")
_TAG_KEY = re.compile(r"^[A-Za-z0-9._/:-]{1,128}\Z")
_PATH_PART = re.compile(r"^[A-Za-z0-9._+@~-]+\Z")
_TERM = re.compile(r"^[A-Za-z0-9._+-]{1,64}\Z")
_GPU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*(:[1-9][0-9]?)?\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
NAME_RULE = "use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"


def _shown(value: str, limit: int = 80) -> str:
    """A client's value as quoted in a message: escaped, and cut when long."""
    return repr(value) if len(value) <= limit else repr(value[:limit]) + f"… ({len(value)} characters)"


def has_control(value: str) -> bool:
    return _CONTROL.search(value) is not None


def check_name(field: str, value: str) -> None:
    if not _NAME.match(value):
        raise invalid(field, f"{_shown(value)} is not a valid name: {NAME_RULE}")


def check_environment(value: str) -> None:
    """An environment a request names; "" means the caller's own."""
    # Not quoted back: a KEY=VALUE typed in the wrong place (secret create) must not be echoed.
    if value and not _NAME.match(value):
        raise invalid("environment", f"is not a valid name: {NAME_RULE}")


def _check_arg_size(field: str, what: str, value: str) -> int:
    size = len(value.encode())
    if size > MAX_ARG_BYTES:
        raise invalid(
            field,
            f"{what} is {size} bytes; the kernel takes at most {MAX_ARG_BYTES} bytes per "
            "argument or variable: pass large data as a file (a volume, or exec stdin)",
        )
    return size


def check_env(field: str, env: dict[str, str]) -> int:
    """Returns the bytes the variables take in a process's environment."""
    total = 0
    for key, value in env.items():
        if not key:
            raise invalid(field, "an environment variable name is empty")
        if "=" in key:
            raise invalid(field, f"variable name {_shown(key)} contains '='; pass KEY and VALUE apart")
        if not _ENV_KEY.match(key):
            raise invalid(
                field,
                f"variable name {_shown(key)} is not allowed: use 1-256 letters, digits, "
                "'_', '.' or '-', not starting with a digit",
            )
        if "\0" in value:
            raise invalid(
                field, f"the value of {key} contains a NUL byte, which no process environment can hold"
            )
        total += _check_arg_size(field, f"variable {key}", f"{key}={value}") + 1
    return total


def check_command(field: str, command: list[str], required: bool) -> int:
    """Returns the bytes the arguments take."""
    if required and not command:
        raise invalid(field, "is empty: give the program to run and its arguments")
    total = 0
    for i, part in enumerate(command):
        if "\0" in part:
            raise invalid(f"{field}[{i}]", "contains a NUL byte")
        total += _check_arg_size(f"{field}[{i}]", "the argument", part) + 1
    if command and not command[0]:
        raise invalid(f"{field}[0]", "the program name is empty")
    return total


def _check_args_total(field: str, total: int) -> None:
    if total > MAX_ARGS_TOTAL:
        raise invalid(
            field,
            f"the command and environment take {total} bytes; at most {MAX_ARGS_TOTAL} "
            "bytes are allowed: pass large data as a file (a volume, or exec stdin)",
        )


def _check_absolute(field: str, path: str) -> None:
    if not path.startswith("/"):
        raise invalid(field, f"{_shown(path)} is not an absolute path; it must start with '/'")
    if len(path) > MAX_PATH:
        raise invalid(field, f"{_shown(path)} is longer than {MAX_PATH} characters")


def check_workdir(field: str, workdir: str) -> None:
    if not workdir:
        return
    _check_absolute(field, workdir)
    if has_control(workdir):
        raise invalid(field, f"{_shown(workdir)} contains control characters (a newline, NUL, ESC, ...)")


def check_mount_path(field: str, path: str) -> None:
    """A volume's mount path: only characters no engine reads as mount syntax (',' '=' ':' ...)."""
    _check_absolute(field, path)
    parts = [part for part in path.split("/") if part]
    for part in parts:
        if part == "..":
            raise invalid(field, f"{_shown(path)}: '..' is not allowed in a mount path")
        if not _PATH_PART.match(part):
            raise invalid(
                field,
                f"{_shown(path)} is not allowed as a mount path: use '/' and letters, "
                "digits, '.', '_', '-', '+', '@' or '~' (no ',', '=', ':', spaces or control "
                "characters)",
            )


def check_term(field: str, term: str) -> None:
    if term and not _TERM.match(term):
        raise invalid(field, f"{_shown(term)} is not a terminal type: use e.g. 'xterm-256color'")


def check_description(field: str, text: str) -> None:
    if len(text) > MAX_DESCRIPTION:
        raise invalid(field, f"is {len(text)} characters long; keep it to {MAX_DESCRIPTION}")
    if has_control(text):
        raise invalid(field, "contains control characters; use one line of plain text")


def _check_duration(field: str, value: float, allow_zero: bool) -> None:
    if math.isnan(value) or value < 0 or (value == 0 and not allow_zero):
        raise invalid(field, f"must be a positive number of seconds, got {value}")
    if value > MAX_TIMEOUT:
        raise invalid(field, f"{value:.0f}s is longer than the maximum of 24h")


_PORT_FIELDS = ("encrypted_ports", "h2_ports", "unencrypted_ports")
MAX_PORTS = 100  # each port costs the server one or two listening sockets
_DNS_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")


def check_domain(field: str, name: str) -> None:
    """A DNS host name: dot-separated labels of letters, digits and inner hyphens."""
    problem = ""
    labels = name.split(".")
    if len(name) > 253:
        problem = "is longer than 253 characters"
    elif not all(_DNS_LABEL.match(label) for label in labels):
        problem = (
            "is not a DNS name: use labels of 1-63 letters, digits or '-' (not first or "
            "last), joined by '.', with no trailing dot"
        )
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
            declared,
            "cannot be used with block_network: a sandbox without a network has no "
            "port to tunnel into; drop one of them",
        )
    if params.custom_domain:
        check_domain("custom_domain", params.custom_domain)
        if not declared:
            raise invalid(
                "custom_domain",
                "names the host of tunnels, but no port is declared: give "
                "encrypted_ports, h2_ports or unencrypted_ports",
            )


def check_create(params: pb.SandboxCreateParams) -> None:
    """Raise a ServiceError for the first field that is wrong (what this server can't honour is
    refuse_unsupported's)."""
    for field in ("cpu", "cpu_limit"):
        if params.HasField(field):
            value = getattr(params, field)
            if not value > 0 or math.isinf(value):
                raise invalid(field, f"must be more than 0 cores, got {value}")
    if params.HasField("cpu_limit") and params.cpu_limit < MIN_CPU_LIMIT:
        raise invalid("cpu_limit", f"{params.cpu_limit} cores is below the smallest limit, {MIN_CPU_LIMIT}")
    if params.HasField("cpu") and params.HasField("cpu_limit") and params.cpu_limit < params.cpu:
        raise invalid("cpu_limit", f"{params.cpu_limit} cores is below the request cpu={params.cpu}")
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
    size = check_command("command", list(params.command), required=False)
    _check_args_total("env", size + check_env("env", dict(params.env)))
    if params.name:
        check_name("name", params.name)
    _check_ports(params)
    if params.gpu and not _GPU.match(params.gpu):
        raise invalid("gpu", f"{_shown(params.gpu)} is not a GPU spec: use a type like 'T4' or 'A100:2'")
    if params.block_network and params.cidr_allowlist:
        raise invalid("cidr_allowlist", "cannot be used with block_network; choose one")
    for network in params.cidr_allowlist:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise invalid(
                "cidr_allowlist",
                f"{_shown(network)} is not a CIDR range like '10.0.0.0/8' or '2001:db8::/32'",
            ) from None
    for path, ref in params.volumes.items():
        check_mount_path("volumes", path)
        if not ref:
            raise invalid("volumes", f"no volume given for {_shown(path)}")
        check_ref("volumes", ref, "volume")
    for ref in params.secret_ids:
        check_ref("secret_ids", ref, "secret")


def check_ref(field: str, ref: str, what: str) -> None:
    """A secret or volume given by name or id (ids have the form of names)."""
    if not ref:
        raise invalid(field, f"a {what} name is empty")
    if not _NAME.match(ref):
        raise invalid(field, f"{_shown(ref)} is not a {what} name or id: {NAME_RULE}")


def check_process_size(command: list[str], env: dict[str, str]) -> None:
    """The whole of a process's arguments and environment (secrets' variables included) fits
    the kernel's limit, so the program does not die with 'argument list too long'."""
    total = sum(len(part.encode()) + 1 for part in command)
    total += sum(len(f"{key}={value}".encode()) + 1 for key, value in env.items())
    _check_args_total("env", total)


def check_cpu_available(params: pb.SandboxCreateParams, cpus: int) -> None:
    """No request or limit above the CPUs the engine has (Docker refuses a larger limit, and
    a larger request can never be met)."""
    for field in ("cpu", "cpu_limit"):
        if params.HasField(field) and getattr(params, field) > cpus:
            raise invalid(
                field,
                f"{getattr(params, field):g} cores is more than the {cpus} CPUs this server's engine has",
            )


# SandboxCreateParams fields this server can't honour, with the reason given to the client:
# on any runtime, and on a runtime of one machine. (The runtime adds its own: gpu, which depends
# on the host and the engine, and what a cluster can't do.)
UNSUPPORTED = {
    "cloud_bucket_mounts": (
        "cloud bucket mounts need a cloud provider; this server runs sandboxes on its own engines"
    ),
    "proxy_id": "there is no proxy service on this server",
}
ONE_MACHINE_UNSUPPORTED = {
    "cloud": "this server runs sandboxes on its local engine; there is no cloud to choose",
    "regions": "this server runs sandboxes on its local engine; there are no regions to choose",
}


def refuse_unsupported(params: pb.SandboxCreateParams, unsupported_fields: dict[str, str]) -> None:
    """Refuse the first field set in `params` that `unsupported_fields` (field -> reason, the
    table the capabilities answer gives too) names."""
    for descriptor, _ in params.ListFields():  # only set ones: non-empty, or present if optional
        reason = unsupported_fields.get(descriptor.name)
        if reason:
            raise unsupported(descriptor.name, reason)


def check_exec(start: pb.ExecStart) -> None:
    size = check_command("command", list(start.command), required=True)
    _check_args_total("env", size + check_env("env", dict(start.env)))
    check_workdir("workdir", start.workdir)
    for ref in start.secret_ids:
        check_ref("secret_ids", ref, "secret")
    if start.HasField("timeout"):
        _check_duration("timeout", start.timeout, allow_zero=False)
    if start.pty and not (0 <= start.rows <= 1000 and 0 <= start.cols <= 1000):
        raise invalid("rows/cols", "a terminal is at most 1000 rows by 1000 columns")
    check_term("term", start.term)


def check_seconds(field: str, value: float) -> None:
    """A wait of `value` seconds, 0 meaning the default."""
    if math.isnan(value) or math.isinf(value):
        raise invalid(field, f"must be a finite number of seconds, got {value}")
    if value < 0:
        raise invalid(field, f"must not be negative, got {value}")


def check_tags(tags: dict[str, str]) -> None:
    for key, value in tags.items():
        if not _TAG_KEY.match(key):
            raise invalid(
                "tags",
                f"tag name {_shown(key)} is not allowed: use 1-{MAX_TAG_KEY} letters, "
                "digits, '.', '_', '-', '/' or ':'",
            )
        if len(value) > MAX_TAG_VALUE:
            raise invalid("tags", f"the value of tag {key!r} is longer than {MAX_TAG_VALUE} characters")
        if has_control(value):
            raise invalid(
                "tags",
                f"the value of tag {key!r} contains control characters (a newline, ESC, ...); use plain text",
            )
