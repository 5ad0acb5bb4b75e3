"""Connections to Redis: straight to IVR_REDIS_URL, or to the master that Redis Sentinel names.

With IVR_REDIS_SENTINELS set (`host:port,host:port`), every connection asks the sentinels for the
current master of IVR_REDIS_SENTINEL_MASTER and follows a failover on its own: a connection that
finds its server gone, or demoted to a replica, asks the sentinels again (redis-py's
SentinelConnectionPool). IVR_REDIS_URL then gives only the password, user, database number and
TLS (`rediss://`); its host and port are not used.
"""
from __future__ import annotations

from redis import Redis
from redis.connection import SSLConnection, parse_url
from redis.sentinel import Sentinel, SentinelManagedSSLConnection

from ivr.settings import Settings


def connect(settings: Settings, **options) -> Redis:
    """A client for the service's Redis; `options` are redis-py's (decode_responses, socket_timeout...)."""
    if not settings.redis_sentinels:
        return Redis.from_url(settings.redis_url, **options)
    url = parse_url(settings.redis_url) if not settings.redis_url.startswith("unix:") else {}
    auth = {k: url[k] for k in ("username", "password", "db") if url.get(k) is not None}
    if url.get("connection_class") is SSLConnection:
        options = {**options, "connection_class": SentinelManagedSSLConnection}
    timeouts = {k: options[k] for k in ("socket_timeout", "socket_connect_timeout") if k in options}
    sentinel = Sentinel(sentinel_addresses(settings.redis_sentinels), sentinel_kwargs=timeouts)
    return sentinel.master_for(settings.redis_sentinel_master, redis_class=Redis, **auth, **options)


def sentinel_addresses(value: str) -> list[tuple[str, int]]:
    """`host:port,host:port` (already checked by the settings) as redis-py wants them."""
    pairs = []
    for item in value.split(","):
        host, _, port = item.strip().rpartition(":")
        pairs.append((host.strip("[]"), int(port)))
    return pairs
