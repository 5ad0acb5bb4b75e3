"""A real HTTP endpoint standing in for another team's system (the pager, the account system):
it keeps every request and answers as told: a status and JSON, maybe headers (a redirect's
Location), maybe a byte at a time (a server that trickles). A GET (a redirect followed as a GET, a
login page) is kept too and answered 200."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    answers: list[tuple] = field(default_factory=list)  # (status, JSON[, headers]) per request; then 200 {}
    received: list[Received] = field(default_factory=list)
    on_receive: Callable[[Received], None] | None = None  # runs before the answer (e.g. kills the sender)
    trickle_seconds: float = 0.0  # > 0: the whole answer, status line included, a byte at a time

    def __enter__(self) -> Receiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.received.append(Received(self.path, dict(self.headers), body))
                if owner.on_receive is not None:
                    owner.on_receive(owner.received[-1])
                status, payload, *extra = owner.answers.pop(0) if owner.answers else (200, {})
                data = json.dumps(payload).encode()
                headers = {"Content-Type": "application/json", "Content-Length": str(len(data)),
                           **(extra[0] if extra else {})}
                raw = (f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}\r\n"
                       + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode() + data
                if not owner.trickle_seconds:
                    try:
                        self.wfile.write(raw)
                    except OSError:  # the sender is gone (killed while waiting for us)
                        pass
                    return
                for byte in raw:
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:  # the client gave up
                        return
                    time.sleep(owner.trickle_seconds)

            def do_GET(self):
                owner.received.append(Received(self.path, dict(self.headers), b""))
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", "25")
                self.end_headers()
                self.wfile.write(b"<html>Please sign in</html>"[:25])

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
