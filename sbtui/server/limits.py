"""The operator's limits on every sandbox: what a sandbox gets when its create asks for nothing,
and the most a create may ask for.

Set with `sbtui server --default-memory/--max-memory/--pids-limit/--open-files/--disk-limit/
--log-limit`; the defaults suit a shared host of 2 cores and 24 GiB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sbtui.proto import sandbox_pb2 as pb
from sbtui.server.errors import invalid
from sbtui.server.validation import MIN_MEMORY_MIB

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
_UNITS = {"": 1, "Ki": KiB, "Mi": MiB, "Gi": GiB, "Ti": 1 << 40}
_SIZE = re.compile(r"^([0-9]{1,15})(Ki|Mi|Gi|Ti)?$")
MIN_LOG_BYTES = 64 * KiB  # a log must hold at least a few lines


def parse_size(text: str) -> int:
    """Bytes in '512Mi', '2Gi', '65536'; ValueError saying what is accepted."""
    match = _SIZE.match(text.strip())
    if not match:
        raise ValueError(
            f"{text!r} is not a size: give a whole number of bytes, optionally with Ki, Mi, Gi "
            "or Ti (512Mi, 2Gi)"
        )
    return int(match.group(1)) * _UNITS[match.group(2) or ""]


def format_size(value: int) -> str:
    """512Mi, 2Gi: the largest unit that divides `value`."""
    for unit in ("Ti", "Gi", "Mi", "Ki"):
        if value >= _UNITS[unit] and value % _UNITS[unit] == 0:
            return f"{value // _UNITS[unit]}{unit}"
    return f"{value} bytes"


MAX_MEMORY_MIB = 1 << 30


@dataclass(frozen=True)
class Limits:
    default_memory_mib: int = 1024  # the hard limit of a sandbox whose create sets none
    max_memory_mib: int = 8 * 1024  # the most memory_mib or memory_limit_mib may ask
    pids: int = 1024  # processes and threads at once: stops a fork bomb
    open_files: int = 1024  # RLIMIT_NOFILE of every process in a sandbox
    disk_bytes: int = 10 * GiB  # the writable layer (files written outside volumes)
    log_bytes: int = 32 * MiB  # the engine's log of the main command's output

    def problems(self) -> list[str]:
        """What is wrong with these limits, each naming its option."""
        found = []
        if self.default_memory_mib < MIN_MEMORY_MIB:
            found.append(f"--default-memory must be at least {MIN_MEMORY_MIB}Mi")
        if self.max_memory_mib < self.default_memory_mib:
            found.append(
                f"--max-memory {format_size(self.max_memory_mib * MiB)} is below --default-memory "
                f"{format_size(self.default_memory_mib * MiB)}"
            )
        if self.max_memory_mib > MAX_MEMORY_MIB:  # its bytes must fit the engines' signed 64 bits
            found.append(f"--max-memory must be at most {format_size(MAX_MEMORY_MIB * MiB)}")
        if self.pids < 1:
            found.append("--pids-limit must be at least 1")
        if self.open_files < 16:
            found.append("--open-files must be at least 16 (a program needs a few to start)")
        if self.disk_bytes < MiB:
            found.append("--disk-limit must be at least 1Mi")
        if self.log_bytes < MIN_LOG_BYTES:
            found.append(f"--log-limit must be at least {format_size(MIN_LOG_BYTES)}")
        return found

    def check_create(self, params: pb.SandboxCreateParams) -> None:
        """Refuse a create that asks for more than the operator allows."""
        for field in ("memory_mib", "memory_limit_mib"):
            if params.HasField(field) and getattr(params, field) > self.max_memory_mib:
                raise invalid(
                    field,
                    f"{getattr(params, field)} MiB is more than this server allows: ask for at "
                    f"most {self.max_memory_mib} MiB",
                )

    def memory_limit_mib(self, params: pb.SandboxCreateParams) -> int:
        """The hard memory limit a sandbox runs with: its own, else the operator's default (or
        its reservation, when that is larger: a limit below the reservation can't be met)."""
        if params.HasField("memory_limit_mib"):
            return params.memory_limit_mib
        return max(self.default_memory_mib, params.memory_mib)


def memory_mib(text: str) -> int:
    """A memory size option in whole MiB."""
    size = parse_size(text)
    if size % MiB:
        raise ValueError(f"{text!r} is not a whole number of MiB (512Mi, 2Gi)")
    return size // MiB
