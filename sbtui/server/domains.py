"""Custom domains: the names under which the operator lets each environment serve its tunnels.

`sbtui server --custom-domain-suffix [ENV=]SUFFIX` (repeatable) allows SUFFIX and every name
under it as a sandbox's `custom_domain` in environment ENV, or in every environment when ENV=
is left out. With none given, no custom domain is allowed. A sandbox's custom domain names the
certificate of its encrypted tunnels, signed by the server's CA, which clients trust: an
unchecked name would let a tenant get a trusted certificate for anyone's site. The CA itself
carries the union of the suffixes (and the tunnel host) as X.509 name constraints, so a
certificate for any other name fails verification even if the server were made to sign one.
"""

from __future__ import annotations

from typing import Iterable

from sbtui.server import validation
from sbtui.server.errors import ServiceError, invalid

FLAG = "--custom-domain-suffix"


class SuffixError(ValueError):
    """A --custom-domain-suffix value that can't be used; the message says why."""


def parse(value: str) -> tuple[str | None, str]:
    """`[ENV=]SUFFIX` -> (ENV, or None for every environment; SUFFIX in lower case)."""
    environment, sep, suffix = value.rpartition("=")
    if sep:
        try:
            validation.check_name("environment", environment)
        except ServiceError:
            raise SuffixError(
                f"{FLAG} {value!r}: {environment!r} is not an environment name (1-64 letters, "
                "digits, '.', '_' or '-', starting with a letter or digit)"
            ) from None
    try:
        validation.check_domain("SUFFIX", suffix)
    except ServiceError as err:
        raise SuffixError(f"{FLAG} {value!r}: {err.message}") from None
    return (environment if sep else None), suffix.lower()


class CustomDomains:
    def __init__(self, values: Iterable[str] = ()) -> None:
        self._everywhere: list[str] = []
        self._by_environment: dict[str, list[str]] = {}
        for value in values:
            environment, suffix = parse(value)
            into = (
                self._everywhere if environment is None else self._by_environment.setdefault(environment, [])
            )
            if suffix not in into:
                into.append(suffix)

    def suffixes(self, environment: str) -> list[str]:
        own = self._by_environment.get(environment, [])
        return own + [s for s in self._everywhere if s not in own]

    def all_suffixes(self) -> list[str]:
        """Every suffix of every environment: what the CA may certify besides the tunnel host."""
        found = list(self._everywhere)
        for suffixes in self._by_environment.values():
            found += [s for s in suffixes if s not in found]
        return found

    def check(self, name: str, environment: str) -> None:
        """Refuse `name` unless it is one of `environment`'s suffixes or a name under one.

        INVALID_ARGUMENT, not PERMISSION_DENIED: no caller may use the name (the admin neither,
        and the CA's constraints would make its certificate fail anyway), so another token
        would not help; the value is what must change, or the operator's configuration.
        """
        allowed = self.suffixes(environment)
        lowered = name.lower()
        if any(lowered == s or lowered.endswith("." + s) for s in allowed):
            return
        if not allowed:
            raise invalid(
                "custom_domain",
                f"{name!r} is not allowed: this server allows no custom domain in environment "
                f"{environment!r}; its operator allows names under a suffix with `sbtui server "
                f"{FLAG} {environment}=SUFFIX` (or SUFFIX for every environment)",
            )
        raise invalid(
            "custom_domain",
            f"{name!r} is not allowed in environment {environment!r}: use a name under "
            f"{' or '.join(allowed)} (or the suffix itself)",
        )
