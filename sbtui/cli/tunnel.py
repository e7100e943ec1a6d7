"""`sbtui sandbox tunnels` and `sbtui ca`: how to reach a sandbox's ports, and the CA to trust."""

from __future__ import annotations

import argparse

from sbtui.cli import output as out
from sbtui.cli.args import DurationAction, add_connection_options, verb
from sbtui.cli.target import add_target, resolve
from sbtui.client import Client, Tunnel

TUNNEL_COLUMNS = ("PORT", "KIND", "URL", "TLS SOCKET", "TCP SOCKET")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ca",
        help="print the server's CA certificate (PEM), to verify encrypted tunnels",
        description="Print the PEM certificate of the server's own CA.",
    )
    add_connection_options(p, suppress=True)
    p.set_defaults(verb=print_ca, parser=p)


def add_sandbox_verbs(verbs: argparse._SubParsersAction) -> None:
    p = verb(verbs, "tunnels", "show how to reach a sandbox's declared ports, once they are ready")
    add_target(p)
    p.add_argument(
        "--timeout",
        action=DurationAction,
        default=30.0,
        metavar="DUR",
        help="how long to wait for the ports to be ready (default 30s)",
    )
    p.add_argument("--json", action="store_true", help="print JSON Lines: one object per port")
    p.set_defaults(verb=sandbox_tunnels)


async def print_ca(client: Client, args) -> int:
    print(await client.ca_certificate(), end="")
    return 0


async def sandbox_tunnels(client: Client, args) -> int:
    sandbox = await resolve(client, args.sandbox, args.env_name)
    tunnels = await sandbox.tunnels(timeout=args.timeout)
    out.print_listing(
        args.json, [tunnels[port] for port in sorted(tunnels)], tunnel_json, TUNNEL_COLUMNS, tunnel_row
    )
    return 0


def _tcp(tunnel: Tunnel) -> tuple[str, int] | None:
    return (tunnel.unencrypted_host, tunnel.unencrypted_port) if tunnel.unencrypted_port else None


def tunnel_json(tunnel: Tunnel) -> dict:
    tcp = _tcp(tunnel)
    return {
        "container_port": tunnel.container_port,
        "kind": tunnel.kind,
        "url": tunnel.url,
        "tls_socket": list(tunnel.tls_socket()),
        "tcp_socket": list(tcp) if tcp else None,
    }


def tunnel_row(tunnel: Tunnel) -> list[str]:
    tcp = _tcp(tunnel)
    return [
        str(tunnel.container_port),
        tunnel.kind,
        tunnel.url,
        "%s:%d" % tunnel.tls_socket(),
        "%s:%d" % tcp if tcp else "-",
    ]
