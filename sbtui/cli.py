"""The `sbtui` command: the dashboard, `sbtui server`, and scriptable verbs."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path

from sbtui import __version__
from sbtui import cli_output as out
from sbtui import cli_image, cli_sandbox, cli_secret, cli_token, cli_tunnel, cli_volume
from sbtui.cli_args import ENV_HELP, Parser, UsageError, add_connection_options
from sbtui.client import (
    AuthenticationError, Client, ConnectionLostError, EngineStatus, InvalidArgumentError,
    NotFoundError, PermissionDeniedError, SbtuiError, UnimplementedError,
)
from sbtui.client.connection import parse_address
from sbtui.server.lifecycle import DEFAULT_STOP_TIMEOUT
from sbtui.server.stream_limits import DEFAULT_PER_ENVIRONMENT, DEFAULT_PER_SANDBOX

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


def _server_parser(sub) -> None:
    p = sub.add_parser("server", help="run the sandbox server")
    p.add_argument("--socket", type=Path, help="Unix socket path (default: in the runtime directory)")
    p.add_argument("--listen", metavar="HOST:PORT", help="listen on TCP instead (requires a token)")
    p.add_argument("--token-file", type=Path, help="file holding the bearer token for TCP clients")
    p.add_argument("--tls-cert", type=Path, help="PEM certificate to serve TLS with")
    p.add_argument("--tls-key", type=Path, help="PEM private key of the certificate")
    p.add_argument("--insecure", action="store_true", help="allow plaintext TCP (tokens travel in clear)")
    p.add_argument("--state-dir", type=Path,
                   help="where state, logs and the engine socket live; it belongs to the engine "
                        "it is first used with")
    p.add_argument("--engine", choices=("auto", "docker", "podman"),
                   default=os.environ.get("SBTUI_ENGINE") or "auto",
                   help="container engine (default: SBTUI_ENGINE, else auto: the state "
                        "directory's engine; for a new one Docker if it answers, else Podman)")
    p.add_argument("--engine-url", help="Engine API address, e.g. unix:///var/run/docker.sock")
    p.add_argument("--insecure-registry", action="append", default=[], metavar="HOST:PORT",
                   help="a registry to pull from over plain HTTP (Podman; Docker already "
                        "allows loopback registries); may be repeated")
    p.add_argument("--tunnel-host", default="127.0.0.1", metavar="HOST",
                   help="address tunnels of sandbox ports listen on (default 127.0.0.1); its "
                        "name goes into tunnel URLs and certificates")
    p.add_argument("--custom-domain-suffix", action="append", default=[], metavar="[ENV=]SUFFIX",
                   help="allow sandboxes of environment ENV (of every environment without ENV=) "
                        "the custom domain SUFFIX or any name under it; may be repeated (none: no "
                        "custom domain is allowed)")
    for scope, holds, default in (
        ("sandbox", "exec sessions and log reads of one sandbox", DEFAULT_PER_SANDBOX),
        ("environment", "exec sessions, log reads and watches of one environment", DEFAULT_PER_ENVIRONMENT),
    ):
        p.add_argument(f"--max-streams-per-{scope}", type=_positive_count, default=default, metavar="N",
                       help=f"{holds} open at once; more are refused (default {default})")
    p.add_argument("--idle-exit", type=float, default=0.0, metavar="SECONDS",
                   help="exit after this long with no calls and no sandbox (0 = never)")
    p.add_argument("--stop-timeout", type=_seconds, default=DEFAULT_STOP_TIMEOUT, metavar="SECONDS",
                   help="on SIGTERM or SIGINT, how long to spend finishing the terminations "
                        "already acknowledged before exiting; the next start carries out what "
                        f"is left (default {DEFAULT_STOP_TIMEOUT:.0f})")
    p.add_argument("--daemon", action="store_true",
                   help="run as the embedded local server (idle exit after SBTUI_IDLE_EXIT, default 300 s)")
    _limit_options(p)
    p.set_defaults(run=_run_server)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds of 0 or more")
    return value


def _positive_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _limit_options(p) -> None:
    from sbtui.server import limits

    def option(convert):
        def parse(text: str) -> int:
            try:
                return convert(text)
            except ValueError as err:
                raise argparse.ArgumentTypeError(str(err)) from None
        return parse

    def count(text: str) -> int:
        if not text.isdigit():
            raise ValueError(f"{text!r} is not a whole number")
        return int(text)

    d = limits.Limits()
    g = p.add_argument_group("sandbox limits", "sizes are bytes or take Ki, Mi, Gi, Ti (512Mi, 2Gi)")
    g.add_argument("--default-memory", type=option(limits.memory_mib), metavar="SIZE",
                   dest="default_memory_mib", default=d.default_memory_mib,
                   help=f"hard memory limit of a sandbox whose create sets none (default "
                        f"{limits.format_size(d.default_memory_mib << 20)})")
    g.add_argument("--max-memory", type=option(limits.memory_mib), metavar="SIZE",
                   dest="max_memory_mib", default=d.max_memory_mib,
                   help=f"the most memory_mib or memory_limit_mib a create may ask (default "
                        f"{limits.format_size(d.max_memory_mib << 20)})")
    g.add_argument("--pids-limit", type=option(count), metavar="N", dest="pids", default=d.pids,
                   help=f"processes and threads in a sandbox at once (default {d.pids})")
    g.add_argument("--open-files", type=option(count), metavar="N", default=d.open_files,
                   help=f"open files of each process in a sandbox (default {d.open_files})")
    g.add_argument("--disk-limit", type=option(limits.parse_size), metavar="SIZE",
                   dest="disk_bytes", default=d.disk_bytes,
                   help=f"what a sandbox may write outside its volumes; past it the sandbox ends "
                        f"with reason 'disk limit' (default {limits.format_size(d.disk_bytes)})")
    g.add_argument("--log-limit", type=option(limits.parse_size), metavar="SIZE",
                   dest="log_bytes", default=d.log_bytes,
                   help=f"disk the engine's log of a sandbox's output may take; older output "
                        f"goes first (default {limits.format_size(d.log_bytes)})")


def _run_server(args) -> int:
    from sbtui.server.limits import Limits
    from sbtui.server.main import ServerOptions, StartupError, serve

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    token = None
    if args.token_file:
        try:
            token = args.token_file.read_text().strip()
        except OSError as err:
            print(f"sbtui server: error: cannot read --token-file: {err.strerror}", file=sys.stderr)
            return 2
        if not token:
            print(f"sbtui server: error: --token-file {args.token_file} is empty", file=sys.stderr)
            return 2
    token = token or os.environ.get("SBTUI_TOKEN") or None
    idle = args.idle_exit
    if args.daemon and not idle:
        idle = float(os.environ.get("SBTUI_IDLE_EXIT", "300"))
    options = ServerOptions(
        socket=args.socket, listen=args.listen, token=token, tls_cert=args.tls_cert,
        tls_key=args.tls_key, insecure=args.insecure, state_dir=args.state_dir,
        engine=args.engine, engine_url=args.engine_url, idle_exit=idle,
        stop_timeout=args.stop_timeout,
        insecure_registries=args.insecure_registry,
        tunnel_host=args.tunnel_host, custom_domain_suffixes=args.custom_domain_suffix,
        max_streams_per_sandbox=args.max_streams_per_sandbox,
        max_streams_per_environment=args.max_streams_per_environment,
        limits=Limits(
            default_memory_mib=args.default_memory_mib, max_memory_mib=args.max_memory_mib,
            pids=args.pids, open_files=args.open_files, disk_bytes=args.disk_bytes,
            log_bytes=args.log_bytes,
        ),
    )
    try:
        asyncio.run(serve(options))
    except StartupError as err:
        out.line(f"sbtui server: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def _app_parser(sub) -> None:
    verbs = sub.add_parser("app", help="list apps").add_subparsers(
        dest="app_command", metavar="VERB", required=True
    )
    p = verbs.add_parser("list", help="list apps", description="List apps.")
    add_connection_options(p, suppress=True)
    p.add_argument("--env", metavar="ENV", help=ENV_HELP)
    p.add_argument("--json", action="store_true", help="print JSON Lines: one object per app")
    p.set_defaults(verb=_list_apps, parser=p)


async def _list_apps(client: Client, args) -> int:
    apps = await client.apps.list(environment=args.env)
    out.print_listing(args.json, apps, out.app_json, out.APP_COLUMNS, out.app_row)
    return 0


def _info_parser(sub) -> None:
    p = sub.add_parser(
        "info", help="show the server, how its container engine is doing, and what it can't do",
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
    engine = EngineStatus.from_pb(info)
    try:
        unsupported: dict[str, str] | None = dict(sorted(
            (await client.capabilities()).unsupported_create_fields.items()
        ))
    except UnimplementedError:
        unsupported = None  # a server older than the call: its creates still say what they refuse
    if args.json:
        out.print_json({
            "version": info.version, "pid": info.pid or None, "state_dir": info.state_dir or None,
            "environment": info.environment or None, "engine": info.engine,
            "engine_version": info.engine_version,
            "engine_state": {
                "state": str(engine.state), "attempt": engine.attempt,
                "last_error": engine.last_error or None, "since": engine.since,
                "restarts": engine.restarts, "service_pid": engine.service_pid or None,
            },
            "unsupported_create_fields": unsupported,
        })
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


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="sbtui", description="Sandboxes from the terminal.", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sbtui {__version__}")
    parser.add_argument("--readonly", action="store_true",
                        help="dashboard: show sandboxes but refuse to terminate, exec, snapshot or retag")
    add_connection_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command")
    _server_parser(sub)
    _app_parser(sub)
    _info_parser(sub)
    cli_sandbox.add_parsers(sub)
    cli_image.add_parsers(sub)
    cli_tunnel.add_parsers(sub)
    cli_secret.add_parsers(sub)
    cli_volume.add_parsers(sub)
    cli_token.add_parsers(sub)
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
    if args.server:
        try:
            parse_address(args.server)
        except InvalidArgumentError as err:
            args.parser.error(str(err))
    try:
        return asyncio.run(_with_client(args))
    except UsageError as err:
        args.parser.error(str(err))
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
        print("\n".join([*lines, f"sbtui: the dashboard stopped; its messages are in {log}"]), file=sys.stderr)
    return app.return_code or 0
