"""The create form's fields: what each one accepts, how its text becomes a create keyword
(a SandboxParams field), and back: the text that shows an existing sandbox's parameters again
(to duplicate it).

Checks here run on every keystroke, before anything is sent; they catch what can be known without
the server (forms of values, limits below requests, a port in two lists). The server checks again
and its errors name a field (`SbtuiError.field`), which `FIELD_OF_WIRE` maps to the form's field;
so are the fields its capabilities answer says it can't honour (`unsupported_fields`).
"""

from __future__ import annotations

import ipaddress
import math
import re
import shlex
from dataclasses import dataclass, fields, replace
from typing import Any, Callable, Mapping

from sbtui.client import CloudBucketMount, SandboxInfo, SandboxParams
from sbtui.text import DURATION_FORMS, duration_text, parse_duration, split_pair

MAX_DURATION = 24 * 3600.0
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_GPU = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*(?::[1-9][0-9]?)?")
_MEMORY = re.compile(r"(\d+(?:\.\d+)?)\s*(m|mi|mib|g|gi|gib)?", re.IGNORECASE)
_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_SPLIT = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class Field:
    key: str  # a SandboxParams field, a keyword of `sandboxes.create` (app, image, environment: of the call)
    label: str
    group: str
    kind: str  # "text", "lines" (one entry per line), "switch" or "image"
    hint: str  # the placeholder: an example of what is accepted
    parse: Callable[[str], Any]  # text -> value, None when left empty; ValueError says why
    show: Callable[[Any], str] = str  # a sandbox's value -> text that `parse` reads back as it


# ---- parsers: text -> create keyword value ---------------------------------------------------


def _optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse_optional(text: str) -> Any:
        text = text.strip()
        return parse(text) if text else None

    return parse_optional


def _required(what: str) -> Callable[[str], str]:
    def parse_required(text: str) -> str:
        if not text.strip():
            raise ValueError(f"required: {what}")
        return text.strip()

    return parse_required


def _name(text: str) -> str:
    if not _NAME.fullmatch(text):
        raise ValueError("use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return text


def _app(text: str) -> str:
    return _name(_required("the app to create the sandbox in (made if it does not exist)")(text))


def _image(text: str) -> str:
    text = _required("an image: a registry tag like python:3.11, or pick one with ctrl+o")(text)
    if any(c.isspace() for c in text):
        raise ValueError("an image reference has no spaces")
    return text


def _command(text: str) -> list[str]:
    try:
        words = shlex.split(text)
    except ValueError as err:  # "No closing quotation"
        raise ValueError(f"{str(err).lower()}; words are split like a shell does") from None
    if not words:
        raise ValueError("give the program and its arguments, or leave it empty")
    return words


def _workdir(text: str) -> str:
    if not text.startswith("/"):
        raise ValueError("must be an absolute path, starting with '/'")
    return text


def _cores(text: str) -> float:
    """'0.5', '2' or Kubernetes millicores '500m'."""
    try:
        value = float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    except ValueError:
        raise ValueError("not a number of cores; e.g. 0.5, 2 or 500m") from None
    if not value > 0 or math.isinf(value):
        raise ValueError("must be more than 0 cores")
    return value


def _mebibytes(text: str) -> int:
    """'512' (MiB), '512Mi', '1Gi', '1.5GiB'."""
    match = _MEMORY.fullmatch(text)
    if not match:
        raise ValueError("not an amount of memory; e.g. 512 (MiB), 512Mi, 2Gi")
    number, unit = float(match.group(1)), (match.group(2) or "m").lower()
    value = number * (1024 if unit.startswith("g") else 1)
    if value != int(value):
        raise ValueError(f"{value:g} MiB is not a whole number of MiB")
    if value <= 0:
        raise ValueError("must be more than 0 MiB")
    return int(value)


def _gpu(text: str) -> str:
    if not _GPU.fullmatch(text):
        raise ValueError("a GPU type and optional count, like T4 or A100:2")
    return text


def _duration(text: str) -> float:
    value = parse_duration(text)
    if value > MAX_DURATION:
        raise ValueError("at most 24h")
    return value


def _ports(text: str) -> list[int]:
    ports: list[int] = []
    for word in _SPLIT.split(text.strip()):
        if not word.isdigit() or not 1 <= int(word) <= 65535:
            raise ValueError(f"{word!r} is not a port from 1 to 65535; separate ports with commas")
        if int(word) in ports:
            raise ValueError(f"port {word} is listed twice")
        ports.append(int(word))
    return ports


def _cidrs(text: str) -> list[str]:
    ranges = []
    for word in _SPLIT.split(text.strip()):
        try:
            ipaddress.ip_network(word, strict=False)
        except ValueError:
            raise ValueError(f"{word!r} is not a CIDR range like 10.0.0.0/8 or 2001:db8::/32") from None
        ranges.append(word)
    return ranges


def _words(text: str) -> list[str]:
    return [w for w in _SPLIT.split(text.strip()) if w]


def _domain(text: str) -> str:
    labels = text.rstrip(".").split(".")
    if len(text) > 253 or len(labels) < 2 or not all(_DOMAIN_LABEL.fullmatch(x) for x in labels):
        raise ValueError("not a host name like sandbox.example.com")
    return text


def _lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of the entries: blank lines and '#' comments are skipped."""
    return [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.strip().startswith("#")
    ]


def _env(text: str) -> dict[str, str]:
    env: dict[str, str] = {}
    seen: dict[str, int] = {}
    for number, line in _lines(text):
        try:
            key, value = split_pair(line)
        except ValueError as err:
            raise ValueError(f"line {number}: {err}; one KEY=VALUE per line") from None
        if key in seen:
            raise ValueError(f"line {number}: {key} is already set on line {seen[key]}")
        seen[key] = number
        env[key] = value
    return env


def _volumes(text: str) -> dict[str, str]:
    volumes: dict[str, str] = {}
    for number, line in _lines(text):
        try:
            path, volume = split_pair(line)
        except ValueError as err:
            raise ValueError(f"line {number}: {err}; one /PATH=VOLUME per line") from None
        if not path.startswith("/"):
            raise ValueError(f"line {number}: {path!r} is not an absolute path")
        if not volume:
            raise ValueError(f"line {number}: no volume name after '='")
        if path in volumes:
            raise ValueError(f"line {number}: {path} is mounted twice")
        volumes[path] = volume
    return volumes


_BUCKET_FLAGS = {"read_only", "requester_pays"}
_BUCKET_OPTIONS = {"key_prefix", "endpoint", "secret"}
BUCKET_FORM = "/PATH=BUCKET [key_prefix=P] [endpoint=URL] [secret=NAME] [read_only] [requester_pays]"


def _bucket_mounts(text: str) -> dict[str, CloudBucketMount]:
    mounts: dict[str, CloudBucketMount] = {}
    for number, line in _lines(text):
        first, *rest = line.split()
        path, _, bucket = first.partition("=")
        if not path.startswith("/") or not bucket:
            raise ValueError(f"line {number}: expected {BUCKET_FORM}")
        options: dict[str, Any] = {}
        for word in rest:
            key, sep, value = word.partition("=")
            if (key in _BUCKET_FLAGS and not sep) or (key in _BUCKET_OPTIONS and sep and value):
                options[key] = value if sep else True
            else:
                raise ValueError(f"line {number}: {word!r} is not an option; expected {BUCKET_FORM}")
        mounts[path] = CloudBucketMount(
            bucket_name=bucket,
            key_prefix=options.get("key_prefix", ""),
            bucket_endpoint_url=options.get("endpoint", ""),
            secret=options.get("secret", ""),
            read_only=bool(options.get("read_only")),
            requester_pays=bool(options.get("requester_pays")),
        )
    return mounts


def _switch(text: str) -> bool:
    return text == "1"


# ---- values -> text that their parsers read back as the same values ---------------------------


def _number_text(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _mebibytes_text(mib: int | None) -> str:
    # Exact, unlike the list's rounded "1.5Gi": a copy must ask for the same amount.
    if mib is None:
        return ""
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


def _duration_text(seconds: float | None) -> str:
    return "" if seconds is None else duration_text(seconds)


def _command_text(words: tuple[str, ...]) -> str:
    return shlex.join(words)


def _switch_text(on: bool) -> str:
    return "1" if on else ""


def _words_text(values: tuple[Any, ...]) -> str:
    return ", ".join(str(x) for x in values)


def _pairs_text(pairs: Mapping[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in sorted(pairs.items()))


def _bucket_text(path: str, m: CloudBucketMount) -> str:
    words = [f"{path}={m.bucket_name}"]
    words += [f"key_prefix={m.key_prefix}"] if m.key_prefix else []
    words += [f"endpoint={m.bucket_endpoint_url}"] if m.bucket_endpoint_url else []
    words += [f"secret={m.secret}"] if m.secret else []
    words += [flag for flag in ("read_only", "requester_pays") if getattr(m, flag)]
    return " ".join(words)


def _bucket_mounts_text(mounts: Mapping[str, CloudBucketMount]) -> str:
    return "\n".join(_bucket_text(path, m) for path, m in sorted(mounts.items()))


# ---- the fields, grouped as the form shows them ---------------------------------------------

BASICS, RESOURCES, LIFECYCLE, NETWORK = "Basics", "Resources", "Lifecycle", "Network & ports"
ENVIRONMENT, VOLUMES, PLACEMENT = "Environment & secrets", "Volumes", "Placement"
GROUPS = (BASICS, RESOURCES, LIFECYCLE, NETWORK, ENVIRONMENT, VOLUMES, PLACEMENT)

FIELDS = (
    Field("app", "app", BASICS, "text", "my-app (made if it does not exist)", _app),
    Field("image", "image", BASICS, "image", "python:3.11 or im-… (ctrl+o picks)", _image),
    Field("environment", "environment", BASICS, "text", "the server's default", _optional(_name)),
    Field("name", "name", BASICS, "text", "unique among the app's running sandboxes", _optional(_name)),
    Field(
        "command",
        "command",
        BASICS,
        "text",
        "the image's default, e.g. python -m http.server 8000",
        _optional(_command),
        _command_text,
    ),
    Field("workdir", "workdir", BASICS, "text", "the image's default, e.g. /app", _optional(_workdir)),
    Field("pty", "pty", BASICS, "switch", "run the main command on a terminal", _switch, _switch_text),
    Field("verbose", "verbose", BASICS, "switch", "log the sandbox's life in detail", _switch, _switch_text),
    Field(
        "cpu",
        "cpu",
        RESOURCES,
        "text",
        "cores requested, e.g. 0.5, 2 or 500m",
        _optional(_cores),
        _number_text,
    ),
    Field(
        "cpu_limit",
        "cpu limit",
        RESOURCES,
        "text",
        "at most this many cores, ≥ cpu",
        _optional(_cores),
        _number_text,
    ),
    Field(
        "memory_mib",
        "memory",
        RESOURCES,
        "text",
        "MiB requested, e.g. 512, 512Mi, 2Gi",
        _optional(_mebibytes),
        _mebibytes_text,
    ),
    Field(
        "memory_limit_mib",
        "memory limit",
        RESOURCES,
        "text",
        "hard limit, ≥ memory, e.g. 1Gi",
        _optional(_mebibytes),
        _mebibytes_text,
    ),
    Field("gpu", "gpu", RESOURCES, "text", "T4 or A100:2", _optional(_gpu)),
    Field(
        "timeout",
        "timeout",
        LIFECYCLE,
        "text",
        f"5m when empty; {DURATION_FORMS}",
        _optional(_duration),
        _duration_text,
    ),
    Field(
        "idle_timeout",
        "idle timeout",
        LIFECYCLE,
        "text",
        "none when empty; e.g. 10m",
        _optional(_duration),
        _duration_text,
    ),
    Field(
        "encrypted_ports",
        "encrypted ports",
        NETWORK,
        "text",
        "TLS tunnels, e.g. 443, 8443",
        _optional(_ports),
        _words_text,
    ),
    Field(
        "h2_ports",
        "h2 ports",
        NETWORK,
        "text",
        "HTTP/2 (TLS) tunnels, e.g. 50051",
        _optional(_ports),
        _words_text,
    ),
    Field(
        "unencrypted_ports",
        "unencrypted ports",
        NETWORK,
        "text",
        "TLS and plain TCP tunnels, e.g. 8000",
        _optional(_ports),
        _words_text,
    ),
    Field(
        "block_network",
        "block network",
        NETWORK,
        "switch",
        "loopback only: no way in or out",
        _switch,
        _switch_text,
    ),
    Field(
        "cidr_allowlist",
        "cidr allowlist",
        NETWORK,
        "text",
        "reach only these, e.g. 10.0.0.0/8",
        _optional(_cidrs),
        _words_text,
    ),
    Field("custom_domain", "custom domain", NETWORK, "text", "host name in tunnel URLs", _optional(_domain)),
    Field("env", "env", ENVIRONMENT, "lines", "KEY=VALUE, one per line", _optional(_env), _pairs_text),
    Field(
        "secrets",
        "secrets",
        ENVIRONMENT,
        "text",
        "secret names, e.g. db-creds, api-key",
        _optional(_words),
        _words_text,
    ),
    Field(
        "volumes", "volumes", VOLUMES, "lines", "/PATH=VOLUME, one per line", _optional(_volumes), _pairs_text
    ),
    Field(
        "cloud_bucket_mounts",
        "bucket mounts",
        VOLUMES,
        "lines",
        "/PATH=BUCKET [read_only] …",
        _optional(_bucket_mounts),
        _bucket_mounts_text,
    ),
    Field("cloud", "cloud", PLACEMENT, "text", "e.g. aws", _optional(_name)),
    Field(
        "regions", "regions", PLACEMENT, "text", "e.g. us-east-1, eu-west-1", _optional(_words), _words_text
    ),
    Field("proxy", "proxy", PLACEMENT, "text", "a proxy id, e.g. pr-…", _optional(_name)),
)
BY_KEY = {f.key: f for f in FIELDS}
CALL_FIELDS = ("app", "image", "environment")  # arguments of the call, not create keywords

# Fields as the server names them (in errors and capabilities) -> the form's fields: the
# create parameters by their wire names, and the call's own.
FIELD_OF_WIRE = {
    **{SandboxParams.wire_name(f.name): f.name for f in fields(SandboxParams)},
    **{key: key for key in CALL_FIELDS},
    "tag": "image",
    "image_id": "image",
}


def unsupported_fields(by_wire: Mapping[str, str]) -> dict[str, str]:
    """The form's fields the server can't honour, each with why, from its capabilities answer
    (wire field -> reason). Whatever field the server names, so one it honours later opens
    again with no change here; the call's own fields (app, image) are never closed."""
    return {
        FIELD_OF_WIRE[name]: reason
        for name, reason in by_wire.items()
        if reason and name in FIELD_OF_WIRE and FIELD_OF_WIRE[name] not in CALL_FIELDS
    }


@dataclass
class Checked:
    """The form's text, checked: the call's values if all is well, else an error per field."""

    values: dict[str, Any]
    errors: dict[str, str]

    @property
    def ok(self) -> bool:
        return not self.errors

    def create_keywords(self) -> dict[str, Any]:
        """Keywords for `sandboxes.create`, the unset ones left out (the server's defaults)."""
        return {
            k: v for k, v in self.values.items() if k not in CALL_FIELDS and v is not None and v is not False
        }


def check(texts: dict[str, str], unsupported: Mapping[str, str] | None = None) -> Checked:
    """Each field's text parsed, then the rules between fields (each error on one field).
    A field the server can't honour (`unsupported`: form field -> reason) must be left empty."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in FIELDS:
        try:
            values[f.key] = f.parse(texts.get(f.key, ""))
        except ValueError as err:
            errors[f.key] = str(err)
    v: Callable[[str], Any] = values.get  # None for a field left empty or in error

    def between(field: str, problem: str) -> None:
        errors.setdefault(field, problem)

    if v("cpu") is not None and v("cpu_limit") is not None and v("cpu_limit") < v("cpu"):
        between("cpu_limit", f"{v('cpu_limit'):g} is below the request of {v('cpu'):g} cores")
    if (
        v("memory_mib") is not None
        and v("memory_limit_mib") is not None
        and v("memory_limit_mib") < v("memory_mib")
    ):
        between(
            "memory_limit_mib", f"{v('memory_limit_mib')} MiB is below the request of {v('memory_mib')} MiB"
        )
    listed: dict[int, str] = {}
    for key in ("encrypted_ports", "h2_ports", "unencrypted_ports"):
        for port in v(key) or ():
            if port in listed:
                between(key, f"port {port} is also in {BY_KEY[listed[port]].label}; a port has one kind")
            listed.setdefault(port, key)
    if v("block_network"):
        if v("cidr_allowlist"):
            between("cidr_allowlist", "can't be used with block network: choose one")
        for key in ("encrypted_ports", "h2_ports", "unencrypted_ports"):
            if v(key):
                between(key, "a sandbox with a blocked network has no port to tunnel into")
    if v("custom_domain") and not listed:
        between("custom_domain", "names the host of tunnels, but no port is declared")
    for key in unsupported or {}:
        if texts.get(key, "").strip():  # said before any other problem: no value can be used
            errors[key] = "this server can't honour it (see why above); clear it"
    return Checked(values, errors)


# ---- an existing sandbox's parameters as the form's text ------------------------------------


def texts_of(info: SandboxInfo) -> dict[str, str]:
    """The form's text for a copy of `info`: same app, image and parameters, no name (a name
    is unique among an app's running sandboxes)."""
    params = replace(info.params, name="")
    text = {"app": info.app_name, "image": info.image_id or info.image_tag, "environment": info.environment}
    for f in FIELDS:
        if f.key not in CALL_FIELDS:
            text[f.key] = f.show(getattr(params, f.key))
    return text
