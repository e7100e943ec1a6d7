"""No terminal injection through the CLI: strings a tenant stores on a real server (tag keys and
values, secret key names, command arguments) and arguments quoted back in errors hold escape
sequences, line breaks and bidi overrides; `python -m sbtui` prints them escaped, on the lines
it means to print, while --json gives them back exact.

Where the server refuses such a string (it may check a field for control characters), the
refusal must name the field and reach the terminal escaped too. Every verb's rendering with
fixed data: tests/unit/test_cli_rendering.py.
"""

from __future__ import annotations

import json

from tests.escapes import HOSTILE, SHOWN, assert_inert
from tests.integration.test_cli import json_lines, ok, sbtui


def accepted_or_refused(result, field: str) -> bool:
    """True if the server stored the value; else the refusal names `field`, and is inert."""
    if result.returncode == 0:
        return True
    err = result.stderr.decode()
    assert result.returncode == 1 and field in err, err
    assert_inert(err, 1)
    return False


def test_tags_and_command_arguments_are_listed_escaped(server):
    result = sbtui(
        server,
        "sandbox",
        "create",
        "--app",
        "cli-inject",
        "--tag",
        f"k{HOSTILE}=v{HOSTILE}",
        "--",
        "sh",
        "-c",
        "sleep 600",
        HOSTILE,
    )
    if not accepted_or_refused(result, "tags"):
        return
    sandbox_id = result.stdout.decode().strip()
    try:
        table = ok(server, "sandbox", "list", "--app", "cli-inject")
        assert_inert(table, 2)
        assert f"k{SHOWN}=v{SHOWN}" in table.splitlines()[1]
        shown = ok(server, "sandbox", "tags", sandbox_id)
        assert shown == f"k{SHOWN}=v{SHOWN}\n"

        [listed] = json_lines(ok(server, "sandbox", "list", "--app", "cli-inject", "--json"))
        assert listed["tags"] == {f"k{HOSTILE}": f"v{HOSTILE}"}
        assert listed["command"] == ["sh", "-c", "sleep 600", HOSTILE]
        assert json.loads(ok(server, "sandbox", "tags", sandbox_id, "--json")) == {
            f"k{HOSTILE}": f"v{HOSTILE}"
        }
    finally:
        ok(server, "sandbox", "terminate", sandbox_id)


def test_secret_key_names_are_listed_escaped(server):
    name = "cli-inject"
    result = sbtui(server, "secret", "create", "--overwrite", name, f"K{HOSTILE}=value", "PLAIN=x")
    if not accepted_or_refused(result, "values"):
        return
    try:
        table = ok(server, "secret", "list")
        assert_inert(table, table.count("\n"))
        [row] = [line for line in table.splitlines() if line.startswith(name + " ")]
        assert f"K{SHOWN},PLAIN" in row
        [listed] = [s for s in json_lines(ok(server, "secret", "list", "--json")) if s["name"] == name]
        assert listed["keys"] == [f"K{HOSTILE}", "PLAIN"]
    finally:
        ok(server, "secret", "delete", name)


def test_arguments_quoted_in_errors_are_escaped(server):
    result = sbtui(server, "sandbox", "tags", f"app{HOSTILE}/")
    err = result.stderr.decode()
    assert result.returncode == 2, err
    assert (
        err.splitlines()[-1] == f"sbtui sandbox tags: error: app{SHOWN}/: expected a sandbox id or APP/NAME"
    )
    assert_inert(err, err.count("\n"))
