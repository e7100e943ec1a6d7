"""The `sbtui` command: the dashboard, `sbtui server`, and scriptable verbs."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from sbtui import __version__


def _server_parser(sub) -> None:
    p = sub.add_parser("server", help="run the sandbox server")
    p.add_argument("--socket", type=Path, help="Unix socket path (default: in the runtime directory)")
    p.add_argument("--listen", metavar="HOST:PORT", help="listen on TCP instead (requires a token)")
    p.add_argument("--token-file", type=Path, help="file holding the bearer token for TCP clients")
    p.add_argument("--tls-cert", type=Path, help="PEM certificate to serve TLS with")
    p.add_argument("--tls-key", type=Path, help="PEM private key of the certificate")
    p.add_argument("--insecure", action="store_true", help="allow plaintext TCP (tokens travel in clear)")
    p.add_argument("--state-dir", type=Path, help="where state, logs and the engine socket live")
    p.add_argument("--engine", choices=("auto", "docker", "podman"), default="auto")
    p.add_argument("--engine-url", help="Engine API address, e.g. unix:///var/run/docker.sock")
    p.add_argument("--idle-exit", type=float, default=0.0, metavar="SECONDS",
                   help="exit after this long with no calls and no sandbox (0 = never)")
    p.add_argument("--daemon", action="store_true",
                   help="run as the embedded local server (idle exit after SBTUI_IDLE_EXIT, default 300 s)")
    p.set_defaults(run=_run_server)


def _run_server(args) -> int:
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
    )
    try:
        asyncio.run(serve(options))
    except StartupError as err:
        print(f"sbtui server: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sbtui", description="Sandboxes from the terminal.")
    parser.add_argument("--version", action="version", version=f"sbtui {__version__}")
    sub = parser.add_subparsers(dest="command")
    _server_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    return args.run(args)
