"""`sbtui node`: the agent on each node of a cluster, through which the server does what must
happen on the machine holding a container (execs, their signals, logs, dialling its ports,
commits, the engine's events). It serves node.proto over mutual TLS only, to the server alone.

certs (its certificate files), auth (who may call), exec_stream and dial (the two duplex
calls), service (every call, on a DockerRuntime of the node's engine) and agent (serving).
"""
