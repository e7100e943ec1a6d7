"""`sbtui app list`: the apps sandboxes are grouped in."""

from __future__ import annotations

import argparse
from typing import Any

from sbtui.cli import output as out
from sbtui.cli.args import ENV_HELP, verb
from sbtui.client import App, Client

APP_COLUMNS = ("NAME", "ID", "ENVIRONMENT")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    verbs = sub.add_parser("app", help="list apps").add_subparsers(
        dest="app_command", metavar="VERB", required=True
    )
    p = verb(verbs, "list", "list apps")
    p.add_argument("--env", metavar="ENV", help=ENV_HELP)
    p.add_argument("--json", action="store_true", help="print JSON Lines: one object per app")
    p.set_defaults(verb=_list_apps)


async def _list_apps(client: Client, args) -> int:
    apps = await client.apps.list(environment=args.env)
    out.print_listing(args.json, apps, app_json, APP_COLUMNS, app_row)
    return 0


def app_row(app: App) -> list[str]:
    return [app.name, app.app_id, app.environment]


def app_json(app: App) -> dict[str, Any]:
    return {"app_id": app.app_id, "name": app.name, "environment": app.environment}
