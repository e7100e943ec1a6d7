"""Who may call the agent: the server, by its certificate of the cluster CA.

TLS already refuses a client without a certificate signed by the cluster CA; a certificate
of that CA made for another role (a node's) passes the handshake, and is refused here, on
every call, by the role its subject and extended key usage give (cluster_ca.role_of).
"""

from __future__ import annotations

import grpc
from cryptography import x509

from sbtui.server.cluster_ca import ROLE_SERVER, role_of


async def require_server(context: grpc.aio.ServicerContext) -> None:
    """Abort the call unless its peer presented the server's certificate."""
    pems = context.auth_context().get("x509_pem_cert") or []
    if not pems:
        await context.abort(
            grpc.StatusCode.UNAUTHENTICATED, "the node agent answers only the sbtui server's certificate"
        )
    try:
        role = role_of(x509.load_pem_x509_certificate(pems[0]))
    except ValueError:
        role = None
    if role != ROLE_SERVER:
        await context.abort(
            grpc.StatusCode.PERMISSION_DENIED,
            f"the client's certificate is {'a ' + role if role else 'of no role'} certificate, "
            "not the sbtui server's: the node agent answers only the server",
        )
