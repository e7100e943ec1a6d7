"""`sbtui info`: the server, how its container engine is doing, and what it can't honour."""

from __future__ import annotations

import argparse
import time

from sbtui.cli import output as out
from sbtui.cli.args import add_connection_options
from sbtui.client import Client, UnimplementedError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="show the server, how its container engine is doing, and what it can't do",
        description="Show the server's version, its container engine, the engine's state "
        "(ok, restarting: a Podman service the server runs, after it died, or down: "
        "an engine the server does not run, while it does not answer), and the "
        "create parameters the server can't honour, each with why.",
    )
    add_connection_options(p, suppress=True)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(verb=_show_info, parser=p)


async def _show_info(client: Client, args) -> int:
    info = await client.server_info()
    engine = info.engine_status
    try:
        unsupported: dict[str, str] | None = dict(
            sorted((await client.capabilities()).unsupported_create_fields.items())
        )
    except UnimplementedError:
        unsupported = None  # a server older than the call: its creates still say what they refuse
    if args.json:
        out.print_json(
            {
                "version": info.version,
                "pid": info.pid or None,
                "state_dir": info.state_dir or None,
                "environment": info.environment or None,
                "engine": info.engine,
                "engine_version": info.engine_version,
                "engine_state": {
                    "state": str(engine.state),
                    "attempt": engine.attempt,
                    "last_error": engine.last_error or None,
                    "since": engine.since,
                    "restarts": engine.restarts,
                    "service_pid": engine.service_pid or None,
                },
                "unsupported_create_fields": unsupported,
            }
        )
        return 0
    where = f", pid {info.pid}, state in {info.state_dir}" if info.pid else ""
    service = f", service pid {engine.service_pid}" if engine.service_pid else ""
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(engine.since))
    rows = [
        ("server", f"sbtui {info.version}{where}"),
        ("engine", f"{info.engine} {info.engine_version}{service}"),
        ("state", f"{engine.summary()}, since {since}"),
    ]
    if engine.last_error:
        rows.append(("last error", engine.last_error))
    # The create parameters (by their wire names, as a refusal names them) it can't honour.
    if unsupported is None:
        rows.append(("unsupported", "not reported: the server is older than this client"))
    elif not unsupported:
        rows.append(("unsupported", "none: every create parameter can be honoured"))
    for n, (field, reason) in enumerate((unsupported or {}).items()):
        rows.append(("unsupported" if n == 0 else "", f"{field}: {reason}"))
    for label, value in rows:
        out.line(f"{label:<11} {value}")
    return 0
