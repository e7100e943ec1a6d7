"""`sbtui server`: run the sandbox server, with its options and sandbox limits."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from sbtui.cli import output as out
from sbtui.server.lifecycle import DEFAULT_STOP_TIMEOUT
from sbtui.server.runtime.naming import AGENT_PORT
from sbtui.server.stream_limits import DEFAULT_PER_ENVIRONMENT, DEFAULT_PER_SANDBOX


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("server", help="run the sandbox server")
    p.add_argument("--socket", type=Path, help="Unix socket path (default: in the runtime directory)")
    p.add_argument("--listen", metavar="HOST:PORT", help="listen on TCP instead (requires a token)")
    p.add_argument("--token-file", type=Path, help="file holding the bearer token for TCP clients")
    p.add_argument("--tls-cert", type=Path, help="PEM certificate to serve TLS with")
    p.add_argument("--tls-key", type=Path, help="PEM private key of the certificate")
    p.add_argument("--insecure", action="store_true", help="allow plaintext TCP (tokens travel in clear)")
    p.add_argument(
        "--state-dir",
        type=Path,
        help="where state, logs and the engine socket live; it belongs to the engine it is first used with",
    )
    p.add_argument(
        "--engine",
        choices=("auto", "docker", "podman", "swarm"),
        default=os.environ.get("SBTUI_ENGINE") or "auto",
        help="container engine (default: SBTUI_ENGINE, else auto: the state "
        "directory's engine; for a new one Docker if it answers, else Podman); swarm: a Docker "
        "Swarm cluster, through its manager (--engine-url), its node agents and --registry",
    )
    p.add_argument("--engine-url", help="Engine API address, e.g. unix:///var/run/docker.sock")
    p.add_argument(
        "--registry",
        metavar="HOST:PORT",
        default="",
        help="swarm: the cluster registry that every node pulls the base image, imports and snapshots from",
    )
    p.add_argument(
        "--agent-port",
        type=int,
        default=AGENT_PORT,
        metavar="PORT",
        help=f"swarm: the port node agents listen on (default {AGENT_PORT}; a node's label "
        "sbtui.agent=HOST:PORT says otherwise)",
    )
    _cluster_ca_option(p)
    p.add_argument(
        "--insecure-registry",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="a registry to pull from over plain HTTP (Podman; Docker already "
        "allows loopback registries); may be repeated",
    )
    p.add_argument(
        "--tunnel-host",
        default="127.0.0.1",
        metavar="HOST",
        help="address tunnels of sandbox ports listen on (default 127.0.0.1); its "
        "name goes into tunnel URLs and certificates",
    )
    p.add_argument(
        "--custom-domain-suffix",
        action="append",
        default=[],
        metavar="[ENV=]SUFFIX",
        help="allow sandboxes of environment ENV (of every environment without ENV=) "
        "the custom domain SUFFIX or any name under it; may be repeated (none: no "
        "custom domain is allowed)",
    )
    for scope, holds, default in (
        ("sandbox", "exec sessions and log reads of one sandbox", DEFAULT_PER_SANDBOX),
        ("environment", "exec sessions, log reads and watches of one environment", DEFAULT_PER_ENVIRONMENT),
    ):
        p.add_argument(
            f"--max-streams-per-{scope}",
            type=_positive_count,
            default=default,
            metavar="N",
            help=f"{holds} open at once; more are refused (default {default})",
        )
    p.add_argument(
        "--idle-exit",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="exit after this long with no calls and no sandbox (0 = never)",
    )
    p.add_argument(
        "--stop-timeout",
        type=_seconds,
        default=DEFAULT_STOP_TIMEOUT,
        metavar="SECONDS",
        help="on SIGTERM or SIGINT, how long to spend finishing the terminations "
        "already acknowledged before exiting; the next start carries out what "
        f"is left (default {DEFAULT_STOP_TIMEOUT:.0f})",
    )
    p.add_argument(
        "--daemon",
        action="store_true",
        help="run as the embedded local server (idle exit after SBTUI_IDLE_EXIT, default 300 s)",
    )
    _limit_options(p)
    p.set_defaults(run=_run_server)
    verbs = p.add_subparsers(dest="server_command", metavar="VERB")
    _node_cert_parser(verbs)


def _cluster_ca_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cluster-ca",
        type=Path,
        metavar="DIR",
        help="swarm: the directory of the cluster CA that node agents' certificates come from "
        "(default: cluster-ca in the state directory)",
    )


def _node_cert_parser(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser(
        "node-cert",
        help="issue the certificates of a node agent (`sbtui node`) from the cluster CA",
        description="Issue the certificates of the agent of node NAME from the cluster CA kept in "
        "the server's state directory: writes ca.pem, node.pem and node.key (0600) into --out.",
    )
    p.add_argument("name", metavar="NAME", help="the node's name (its host name, as the cluster knows it)")
    p.add_argument(
        "--address",
        action="append",
        required=True,
        metavar="ADDR",
        help="an IP address or host name the server reaches the agent at; may be repeated",
    )
    p.add_argument(
        "--state-dir", type=Path, help="the server's state directory (default: the local server's)"
    )
    _cluster_ca_option(p)
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="directory to write the files into")
    p.set_defaults(run=_run_node_cert, parser=p)


def _run_node_cert(args) -> int:
    from sbtui import paths
    from sbtui.server.cluster_ca import ClusterCA, check_address, check_node_name, write_node_files

    try:
        check_node_name(args.name)
        for address in args.address:
            check_address(address)
    except ValueError as err:
        args.parser.error(str(err))
    try:
        ca = ClusterCA(paths.private_dir(args.state_dir or paths.state_dir()), args.cluster_ca)
        written = write_node_files(ca.issue_node(args.name, args.address), args.out)
    except OSError as err:
        out.line(f"sbtui server node-cert: error: {err}", file=sys.stderr)
        return 1
    for path in written:
        out.line(f"wrote {path}")
    return 0


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
    g.add_argument(
        "--default-memory",
        type=option(limits.memory_mib),
        metavar="SIZE",
        dest="default_memory_mib",
        default=d.default_memory_mib,
        help=f"hard memory limit of a sandbox whose create sets none (default "
        f"{limits.format_size(d.default_memory_mib << 20)})",
    )
    g.add_argument(
        "--max-memory",
        type=option(limits.memory_mib),
        metavar="SIZE",
        dest="max_memory_mib",
        default=d.max_memory_mib,
        help=f"the most memory_mib or memory_limit_mib a create may ask (default "
        f"{limits.format_size(d.max_memory_mib << 20)})",
    )
    g.add_argument(
        "--pids-limit",
        type=option(count),
        metavar="N",
        dest="pids",
        default=d.pids,
        help=f"processes and threads in a sandbox at once (default {d.pids})",
    )
    g.add_argument(
        "--open-files",
        type=option(count),
        metavar="N",
        default=d.open_files,
        help=f"open files of each process in a sandbox (default {d.open_files})",
    )
    g.add_argument(
        "--disk-limit",
        type=option(limits.parse_size),
        metavar="SIZE",
        dest="disk_bytes",
        default=d.disk_bytes,
        help=f"what a sandbox may write outside its volumes; past it the sandbox ends "
        f"with reason 'disk limit' (default {limits.format_size(d.disk_bytes)})",
    )
    g.add_argument(
        "--log-limit",
        type=option(limits.parse_size),
        metavar="SIZE",
        dest="log_bytes",
        default=d.log_bytes,
        help=f"disk the engine's log of a sandbox's output may take; older output "
        f"goes first (default {limits.format_size(d.log_bytes)})",
    )


def _run_server(args) -> int:
    from sbtui.server.limits import Limits
    from sbtui.server.main import ServerOptions, StartupError, serve
    from sbtui.server.runtime.engine import Cluster

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
    if args.daemon and args.engine == "swarm":
        # The program that starts the embedded server gives it no options, and a swarm server
        # needs the cluster's (its registry, its agents' CA): it would only fail on them.
        print(
            "sbtui server: error: the embedded local server runs on this machine's engine, and "
            "SBTUI_ENGINE=swarm names a cluster: start `sbtui server --engine swarm --registry "
            "HOST:PORT` (with the manager's --engine-url) yourself and point SBTUI_SERVER at it, "
            "or set SBTUI_ENGINE to auto, docker or podman",
            file=sys.stderr,
        )
        return 2
    idle = args.idle_exit
    if args.daemon and not idle:
        idle = float(os.environ.get("SBTUI_IDLE_EXIT", "300"))
    options = ServerOptions(
        socket=args.socket,
        listen=args.listen,
        token=token,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        insecure=args.insecure,
        state_dir=args.state_dir,
        engine=args.engine,
        engine_url=args.engine_url,
        idle_exit=idle,
        stop_timeout=args.stop_timeout,
        insecure_registries=args.insecure_registry,
        cluster=Cluster(registry=args.registry, agent_port=args.agent_port, ca_dir=args.cluster_ca),
        tunnel_host=args.tunnel_host,
        custom_domain_suffixes=args.custom_domain_suffix,
        max_streams_per_sandbox=args.max_streams_per_sandbox,
        max_streams_per_environment=args.max_streams_per_environment,
        limits=Limits(
            default_memory_mib=args.default_memory_mib,
            max_memory_mib=args.max_memory_mib,
            pids=args.pids,
            open_files=args.open_files,
            disk_bytes=args.disk_bytes,
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
