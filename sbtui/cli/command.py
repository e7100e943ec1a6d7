"""The `sbtui` command: its parser, how a verb runs (errors become a message and an exit
code), and the dashboard when no verb is given."""

from __future__ import annotations

import argparse
import asyncio
import sys

from sbtui import __version__
from sbtui.cli import app, image, info, node, sandbox, secret, server, token, tunnel, volume
from sbtui.cli import output as out
from sbtui.cli.args import Parser, UsageError, add_connection_options
from sbtui.client import (
    AuthenticationError,
    Client,
    ConnectionLostError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    SbtuiError,
)
from sbtui.client.connection import parse_address

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_UNREACHABLE = 4
EXIT_UNAUTHORIZED = 5
EXIT_INTERRUPTED = 130

EPILOG = """\
exit codes:
  0    success
  1    the server refused or failed the request; the message says why
  2    usage error: unknown option, bad KEY=VALUE, bad duration, missing COMMAND
  3    not found: no such sandbox, app, image, secret, volume or token
  4    the server could not be reached, or the connection to it was lost
  5    the server wants a (valid) token, or the token does not allow the call (a token
       scoped to another environment, or token verbs without the admin token)
  124  sandbox exec: the command ran past its --timeout and was killed
  130  interrupted (Ctrl-C); `sandbox exec` ended by another signal N exits with 128+N
  141  sandbox exec: whatever read our stdout went away (a broken pipe, as in a shell)
  `sandbox exec` and `sandbox wait` otherwise exit with the remote command's exit code.

environment:
  SBTUI_SERVER  server address when --server is not given
  SBTUI_TOKEN   bearer token when --token is not given
  SBTUI_CA      CA certificate that signs the server's, for tls:// addresses
"""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="sbtui",
        description="Sandboxes from the terminal.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sbtui {__version__}")
    parser.add_argument(
        "--readonly",
        action="store_true",
        help="dashboard: show sandboxes but refuse to terminate, exec, snapshot or retag",
    )
    add_connection_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command")
    for group in (server, node, app, info, sandbox, image, tunnel, secret, volume, token):
        group.add_parsers(sub)
    return parser


def _exit_code(err: SbtuiError) -> int:
    if isinstance(err, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(err, ConnectionLostError):
        return EXIT_UNREACHABLE
    if isinstance(err, (AuthenticationError, PermissionDeniedError)):
        return EXIT_UNAUTHORIZED
    return EXIT_ERROR


async def _with_client(args) -> int:
    async with Client.connect(args.server, args.token) as client:
        return await args.verb(client, args)


def _run_verb(args) -> int:
    """Run a client verb; expected failures become a one-line message and an exit code."""
    parser: argparse.ArgumentParser = args.parser  # the verb's own; its error() exits
    if args.server:
        try:
            parse_address(args.server)
        except InvalidArgumentError as err:
            parser.error(str(err))
    try:
        return asyncio.run(_with_client(args))
    except UsageError as err:
        parser.error(str(err))
    except SbtuiError as err:
        out.line(f"sbtui: error: {err}", file=sys.stderr)
        return _exit_code(err)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "verb", None):
        return _run_verb(args)
    if not getattr(args, "run", None):
        return _run_dashboard(args, parser)
    return args.run(args)


def _run_dashboard(args, parser: argparse.ArgumentParser) -> int:
    """`sbtui` with no verb: the dashboard, on --server or the embedded local server."""
    if args.server:
        try:
            parse_address(args.server)
        except InvalidArgumentError as err:
            parser.error(str(err))
    from sbtui.tui.app import SbtuiApp  # Textual loads only for the dashboard
    from sbtui.tui.stderr_log import stderr_to_log

    app = SbtuiApp(address=args.server, token=args.token, readonly=args.readonly)
    with stderr_to_log() as log:
        app.run()
    if app.return_code:
        # What it said as it stopped went to the log with the rest: shown now, off the screen.
        lines = log.read_text(errors="replace").splitlines()[-60:] if log.is_file() else []
        print(
            "\n".join([*lines, f"sbtui: the dashboard stopped; its messages are in {log}"]), file=sys.stderr
        )
    return app.return_code or 0
