"""The Docker Engine API as the engines serve it (Docker, and Podman through its compat API):
its version, its timestamps, the framing of a command's output, the address in a container's
network settings, and its errors as the server's (base.py). Any runtime that speaks the
Engine API through aiodocker uses these; what differs between engines stays in docker.py.
"""

from __future__ import annotations

import re
import struct
from datetime import datetime

from aiodocker.exceptions import DockerError

from sbtui.server.runtime.base import BadImageReference, EngineError, EngineNotFound, RegistryUnreachable

API_VERSION = "v1.41"  # served by Docker 20.10+ and by Podman 4's compat API
LIBPOD_API = "v4.0.0"  # Podman's own API, for what its compat API lacks
FRAME = struct.Struct(">BxxxL")  # stdout/stderr framing of non-TTY output: stream, length

_STAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$")
# aiodocker's status for a call that could not reach the engine at all. Its message may well
# say "no such file" (of the engine's socket): that is no answer about the object asked for.
_UNREACHABLE = 900


def timestamp(value: str | None) -> float:
    """Engine timestamps carry nanoseconds, which datetime cannot parse; 0 for 'never'."""
    match = _STAMP.match(value or "")
    if not match or match.string.startswith("0001-"):
        return 0.0
    whole, frac, zone = match.groups()
    zone = "+00:00" if zone in (None, "Z") else zone
    return datetime.fromisoformat(whole + zone).timestamp() + float(frac or 0)


def take_frames(buffer: bytearray) -> list[tuple[int, bytes]]:
    """The whole frames at the start of `buffer` as (fd, bytes), taken out of it; a frame not
    all there yet stays for the next call."""
    entries, at = [], 0
    while len(buffer) - at >= FRAME.size:
        fd, length = FRAME.unpack_from(buffer, at)
        end = at + FRAME.size + length
        if end > len(buffer):
            break
        entries.append(((2 if fd == 2 else 1), bytes(buffer[at + FRAME.size : end])))
        at = end
    del buffer[:at]
    return entries


def address(settings: dict) -> str | None:
    """A container's IP address from its inspect's NetworkSettings; None when it has none."""
    # Docker fills the top-level IPAddress for its default bridge; Podman leaves it empty
    # and reports the address per network (`podman`), as Docker does for user networks.
    if settings.get("IPAddress"):
        return settings["IPAddress"]
    networks = [n or {} for n in (settings.get("Networks") or {}).values()]
    for key in ("IPAddress", "GlobalIPv6Address"):
        for network in networks:
            if network.get(key):
                return network[key]
    return None


def missing(err: DockerError) -> bool:
    """Whether the engine answered that the object asked for does not exist."""
    # Podman answers some lookups of a missing object with 500 "no such ...", not 404.
    return err.status == 404 or (err.status != _UNREACHABLE and "no such" in str(err.message).lower())


def engine_error(err: DockerError, what: str) -> EngineError:
    message = err.message if isinstance(err.message, str) else str(err.message)
    cls = EngineNotFound if missing(err) else EngineError
    return cls(f"{what}: {message}", err.status)


# What the engines say when a registry can't be reached or refuses the connection.
_UNREACHABLE_WORDS = (
    "dial tcp",
    "connection refused",
    "no such host",
    "pinging container registry",
    "timeout",
    "tls",
    "https",
)


def push_error(ref: str, message: str) -> EngineError:
    """The error for a push of `ref` the engine failed with `message`."""
    if any(w in message.lower() for w in _UNREACHABLE_WORDS):
        return RegistryUnreachable(f"the registry of {ref!r} could not be reached: {message}")
    if "does not exist" in message.lower() or "no such image" in message.lower():
        return EngineNotFound(f"image {ref!r} is not on this engine: {message}")
    return EngineError(f"pushing image {ref!r}: {message}")


def pull_error(ref: str, message: str) -> EngineError:
    """The error for a pull of `ref` the engine failed with `message`, by what went wrong."""
    lowered = message.lower()
    if "invalid reference" in lowered or "repository name must" in lowered:
        return BadImageReference(f"{ref!r} is not a valid image reference: {message}")
    if any(w in lowered for w in ("manifest unknown", "not found", "does not exist", "name unknown")):
        return EngineNotFound(f"image {ref!r} was not found in its registry: {message}")
    if any(w in lowered for w in _UNREACHABLE_WORDS):
        return RegistryUnreachable(f"the registry of {ref!r} could not be reached: {message}")
    return EngineError(f"pulling image {ref!r}: {message}")
