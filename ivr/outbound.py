"""Outbound HTTP: the one way the service sends a request to another system (the pager, the
account system, Twilio's recording media).

Every request here follows no redirect (a 3xx is an answer like any other, and never success),
reads no proxy or .netrc settings from the environment (they would get the credentials), and has a
*total* deadline: requests' own timeout is per socket read, so a server trickling a byte a second
could hold a caller's keypress for as long as it liked. A timer shuts the request's sockets when the
deadline passes, whatever the request is doing then (connecting, waiting for headers, reading the
body). A body larger than the caller's cap is refused while it is read.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import BinaryIO

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ivr.errors import IvrError

REPLY_MAX_BYTES = 64 * 1024  # what a webhook's answer may be: a small JSON document
CONNECT_SECONDS = 5.0
CHUNK = 64 * 1024


class OutboundFailed(IvrError):
    """A request to another system got no usable answer: unreachable, over its deadline, or too large."""


@dataclass(frozen=True)
class Reply:
    """What the other system answered. `ok` only for a 2xx from the URL asked (redirects are not followed)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> dict:
        """The body as a JSON object; {} for anything else."""
        try:
            value = json.loads(self.body)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


class Deadline:
    """One request's total time: when it passes, every socket the request opened is shut down."""

    def __init__(self, seconds: float):
        self.seconds, self.expired = seconds, False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()

    def _cut(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed
        pass


def _watched(pool_class: type[HTTPConnectionPool], deadline: Deadline) -> type[HTTPConnectionPool]:
    """`pool_class` whose connections hand their socket to `deadline` as soon as it is opened."""
    class Connection(pool_class.ConnectionCls):
        def _new_conn(self):
            sock = super()._new_conn()
            deadline.watch(sock)
            return sock

    return type(pool_class.__name__, (pool_class,), {"ConnectionCls": Connection})


def _session(deadline: Deadline) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy or .netrc from the environment gets the request or its credentials
    adapter = HTTPAdapter(max_retries=0)
    adapter.poolmanager.pool_classes_by_scheme = {"http": _watched(HTTPConnectionPool, deadline),
                                                  "https": _watched(HTTPSConnectionPool, deadline)}
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class Incoming:
    """An answer whose headers have arrived; its body is read, capped, within the same deadline."""

    def __init__(self, response: requests.Response, deadline: Deadline, url: str):
        self.response, self.deadline, self.url = response, deadline, url
        self.status = response.status_code
        self.headers = dict(response.headers)

    @property
    def is_redirect(self) -> bool:
        return self.response.is_redirect

    def read_into(self, into: BinaryIO, max_bytes: int) -> int:
        """Copy the body into `into`; OutboundFailed past `max_bytes` or the deadline, or if it breaks off."""
        declared = self.headers.get("Content-Length", "")
        declared = int(declared) if declared.isdigit() else 0  # a bad one is counted as the body comes
        if declared > max_bytes:
            raise OutboundFailed(f"{_host(self.url)} answered {declared} bytes, over the {max_bytes}-byte cap")
        size = 0
        try:
            for chunk in self.response.iter_content(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise OutboundFailed(f"{_host(self.url)} answered over the {max_bytes}-byte cap")
                into.write(chunk)
        except requests.RequestException as error:
            raise self._failure(error) from None
        if self.deadline.expired:  # a cut socket can look like the end of a body without a length
            raise OutboundFailed(f"{_host(self.url)} took over {self.deadline.seconds:g} s in all")
        return size

    def read(self, max_bytes: int = REPLY_MAX_BYTES) -> bytes:
        buffer = _Buffer()
        self.read_into(buffer, max_bytes)
        return bytes(buffer.data)

    def _failure(self, error: Exception) -> OutboundFailed:
        return _failure(self.url, self.deadline, error)


class _Buffer:
    def __init__(self):
        self.data = bytearray()

    def write(self, chunk: bytes) -> None:
        self.data += chunk


def _host(url: str) -> str:
    return requests.utils.urlparse(url).hostname or "?"


def _failure(url: str, deadline: Deadline, error: Exception) -> OutboundFailed:
    if deadline.expired:
        return OutboundFailed(f"{_host(url)} took over {deadline.seconds:g} s in all")
    return OutboundFailed(f"{_host(url)} unreachable: {type(error).__name__}")


@contextmanager
def opened(method: str, url: str, *, deadline_seconds: float, **kwargs) -> Iterator[Incoming]:
    """Send one request (requests' keyword arguments: data, headers, auth) and yield its answer once
    the headers are in; following no redirect, all of it within `deadline_seconds`."""
    deadline = Deadline(deadline_seconds)
    started = time.monotonic()
    try:
        with _session(deadline) as http:
            try:
                response = http.request(method, url, allow_redirects=False, stream=True,
                                        timeout=(min(CONNECT_SECONDS, deadline_seconds), deadline_seconds), **kwargs)
            except requests.RequestException as error:
                raise _failure(url, deadline, error) from None
            with response:
                if deadline.expired or time.monotonic() - started > deadline_seconds:
                    raise OutboundFailed(f"{_host(url)} took over {deadline_seconds:g} s in all")
                yield Incoming(response, deadline, url)
    finally:
        deadline.cancel()


def post(url: str, body: bytes, headers: dict[str, str], *, deadline_seconds: float,
         max_bytes: int = REPLY_MAX_BYTES) -> Reply:
    """POST `body` and read the answer, all within `deadline_seconds`. A redirect is returned as is
    (never followed, never `ok`); OutboundFailed when no answer came in time or it was too large."""
    with opened("POST", url, data=body, headers=headers, deadline_seconds=deadline_seconds) as incoming:
        return Reply(incoming.status, incoming.headers, incoming.read(max_bytes))
