"""The firewall of a sandbox with a cidr_allowlist."""

from __future__ import annotations

from sbtui.server.runtime import egress


def test_the_engines_resolver_is_fenced_unless_listed():
    fenced = egress.ruleset(["10.0.0.0/8"], 4).decode().splitlines()
    rejected = fenced.index("-A OUTPUT -d 127.0.0.11/32 -j REJECT")
    assert rejected < fenced.index("-A OUTPUT -o lo -j ACCEPT")
    for listed in (["127.0.0.11/32"], ["127.0.0.0/8"]):
        assert "-d 127.0.0.11/32 -j REJECT" not in egress.ruleset(listed, 4).decode()
    assert "127.0.0.11" not in egress.ruleset(["10.0.0.0/8"], 6).decode()
