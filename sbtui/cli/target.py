"""The sandbox a verb acts on: its SANDBOX_ID argument, and finding it by id or by APP/NAME."""

from __future__ import annotations

import argparse

from sbtui.cli.args import UsageError
from sbtui.client import Client, NotFoundError, Sandbox

SANDBOX_REF = "sandbox id (sb-...) or APP/NAME of a running named sandbox"


def add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sandbox", metavar="SANDBOX_ID", help=SANDBOX_REF)
    parser.add_argument("--env-name", metavar="ENV", help="environment of APP in APP/NAME")


async def resolve(client: Client, ref: str, environment: str | None = None) -> Sandbox:
    """The sandbox named by an id, or by APP/NAME."""
    app_name, slash, name = ref.partition("/")
    if not slash:
        return await client.sandboxes.from_id(ref)
    if not app_name or not name:
        raise UsageError(f"{ref}: expected a sandbox id or APP/NAME")
    try:
        return await client.sandboxes.from_name(app_name, name, environment=environment)
    except NotFoundError:
        # The server's message for a missing app speaks of API parameters; this one fits a CLI.
        raise NotFoundError(f"no running sandbox named {name!r} in app {app_name!r}") from None
