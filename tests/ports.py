"""A free TCP port on the loopback interface, for the servers a test starts (ivr serve, a
storage server, redis-server and its Sentinel)."""
from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
