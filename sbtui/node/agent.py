"""Serving the agent: its certificates checked, its node's engine found, then node.proto on
HOST:PORT over mutual TLS (no plaintext port, ever) until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from pathlib import Path

import grpc

from sbtui import keepalive
from sbtui.node import certs as node_certs
from sbtui.node import overlay
from sbtui.node.service import NodeAgentService
from sbtui.proto import node_pb2_grpc as pb_grpc
from sbtui.server.runtime import engine as engines
from sbtui.server.runtime.base import EngineError

log = logging.getLogger("sbtui.node")
STOP_GRACE = 5.0  # seconds calls under way get to finish once a stop is asked


class StartupError(Exception):
    """The agent can't start; the message says why and what to do."""


@dataclass
class AgentOptions:
    listen: str  # HOST:PORT
    certs: Path
    engine_url: str


async def serve(options: AgentOptions, ready: asyncio.Event | None = None) -> None:
    try:
        certs = node_certs.load(options.certs)
    except node_certs.CertsError as err:
        raise StartupError(str(err)) from None
    try:
        runtime = await engines.at_url(options.engine_url)
    except EngineError as err:
        raise StartupError(str(err)) from None
    try:
        server = grpc.aio.server(options=keepalive.SERVER_OPTIONS)
        pb_grpc.add_NodeAgentServicer_to_server(NodeAgentService(runtime, certs.name), server)
        credentials = grpc.ssl_server_credentials(
            [(certs.key_pem, certs.cert_pem)], root_certificates=certs.ca_pem, require_client_auth=True
        )
        try:
            port = server.add_secure_port(options.listen, credentials)
        except RuntimeError:
            port = 0
        if port == 0:
            raise StartupError(
                f"could not listen on {options.listen}: is the address this machine's and free?"
            )
        await server.start()
        host = options.listen.rsplit(":", 1)[0]
        version = await runtime.version()
        log.info("node %s: serving on %s:%d with %s %s", certs.name, host, port, runtime.name, version)
        print(f"sbtui node {certs.name} listening on {host}:{port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        sweeper = asyncio.create_task(overlay.clear_stale_vxlans(), name="stale-vxlans")
        if ready is not None:
            ready.set()
        await stop.wait()
        log.info("node %s: stopping", certs.name)
        sweeper.cancel()
        await server.stop(grace=STOP_GRACE)
    finally:
        await runtime.close()
