"""The keepalive agreement between the client and the server, in one place: each side's gRPC
settings are derived from the same figures, so they can't drift apart.

gRPC's server counts a ping that comes sooner than its minimum interval as a strike and, after
two, ends the connection with GOAWAY `too_many_pings` (and every call on it: a quiet `sleep`
exec, a watch with no events, a follow of a silent command). The client pings every
PING_INTERVAL, calls or not, so a vanished server is found within PING_INTERVAL + PING_TIMEOUT;
the server accepts pings twice as often as that, whatever the calls are doing. The server pings
too, so that the sessions of a client that vanished (a dropped SSH connection, a killed
laptop) are ended and their processes killed instead of running on.
"""

from __future__ import annotations

PING_INTERVAL_MS = 10_000
PING_TIMEOUT_MS = 10_000
# The server's own pings, to find clients that vanished.
SERVER_PING_INTERVAL_MS = 30_000

CLIENT_OPTIONS = [
    ("grpc.keepalive_time_ms", PING_INTERVAL_MS),
    ("grpc.keepalive_timeout_ms", PING_TIMEOUT_MS),
    ("grpc.keepalive_permit_without_calls", 1),
    # By default a client stops pinging after two pings with no data sent in between: a
    # silent call would then go unwatched.
    ("grpc.http2.max_pings_without_data", 0),
]

SERVER_OPTIONS = [
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", PING_INTERVAL_MS // 2),
    ("grpc.http2.min_ping_interval_without_data_ms", PING_INTERVAL_MS // 2),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.keepalive_time_ms", SERVER_PING_INTERVAL_MS),
    ("grpc.keepalive_timeout_ms", PING_TIMEOUT_MS),
    # gRPC binds with SO_REUSEPORT by default: a second server or node agent started on a port
    # in use would share it, each taking some of the connections, rather than fail to start.
    ("grpc.so_reuseport", 0),
]
