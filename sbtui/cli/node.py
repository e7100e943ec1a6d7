"""`sbtui node`: run the node agent of a cluster (sbtui/node/)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from sbtui.cli import output as out

DEFAULT_ENGINE_URL = "unix:///var/run/docker.sock"


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "node",
        help="run the node agent of a cluster",
        description="Run the node agent, through which the sbtui server uses this node's engine "
        "(mutual TLS only; make its certificates with `sbtui server node-cert`).",
    )
    p.add_argument(
        "--listen", required=True, type=_host_port, metavar="HOST:PORT", help="address to serve on"
    )
    p.add_argument(
        "--certs",
        required=True,
        type=Path,
        metavar="DIR",
        help="directory holding ca.pem, node.pem and node.key (from `sbtui server node-cert`)",
    )
    p.add_argument(
        "--engine-url",
        default=DEFAULT_ENGINE_URL,
        metavar="URL",
        help=f"this node's Engine API (default {DEFAULT_ENGINE_URL})",
    )
    p.set_defaults(run=_run_node)


def _host_port(text: str) -> str:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT (e.g. 0.0.0.0:7443)")
    return text


def _run_node(args) -> int:
    from sbtui.node.agent import AgentOptions, StartupError, serve

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        asyncio.run(serve(AgentOptions(args.listen, args.certs, args.engine_url)))
    except StartupError as err:
        out.line(f"sbtui node: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
