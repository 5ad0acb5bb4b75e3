"""Load: N concurrent emulated calls over HTTP against the real `ivr serve` (gunicorn's gthread
workers and the RQ job workers), optionally with M media streams held open at the same time.

The service runs as it does in production, in its own processes, on a private redis-server and a
SQLite file in a temp folder; its REST client points at the emulator's REST API in this process
(so the auth token check treats it as the emulator). Each call is a thread with its own emulated
Twilio speaking HTTP to the service: a caller in London on a Tuesday morning who stays silent,
gives consent, picks an issue and listens to the answer (about ten webhooks). Streams are signed
websocket handshakes to /voice/stream that stay open (a message every few seconds) for the
whole run, as a listening caller's stream would, to show webhooks still answer while they hold
their slots.

Reports per webhook: p50/p99/max latency, errors (not 2xx, or no answer within Twilio's 15 s);
per call: the apology rate (a caller who heard "something went wrong") and Twilio's stock error;
streams refused; and the machine's load while it ran (other work on the machine counts).

    .venv/bin/python bench/load.py --calls 200 [--streams 24] [--web-workers 2] [--job-workers 2]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
import simple_websocket
from redis import Redis

from ivr.emulator import NumberConfig, Press, Silence, Twilio
from ivr.emulator.transport import HttpTransport, TransportError

ROOT = Path(__file__).resolve().parent.parent
IVR = Path(sys.executable).with_name("ivr")
ACCOUNT_SID, AUTH_TOKEN = "AC" + "0" * 31 + "1", "3f9a0c1d" * 4
GB = "+442079460100"
TUESDAY_MORNING = "fixed:2026-11-24T10:00:00+00:00"  # the gb desk is open
APOLOGY = "something went wrong on our side"
SCRIPT = [Silence(), Press("1"), Press("2"), Silence()]


class Timed(HttpTransport):
    """HTTP to the service, keeping (path, seconds, status) for every webhook."""

    def __init__(self, connect_to: str, log: list):
        super().__init__(connect_to=connect_to)
        self.log = log

    def request(self, method, url, params, headers):
        path = url.split("?")[0].split("/voice", 1)[-1]
        started = time.perf_counter()
        try:
            reply = super().request(method, url, params, headers)
        except TransportError:
            self.log.append((path, time.perf_counter() - started, 0))
            raise
        self.log.append((path, time.perf_counter() - started, reply.status))
        return reply


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_service(folder: Path, rest_url: str, web_workers: int, job_workers: int) -> tuple[subprocess.Popen, str,
                                                                                                   subprocess.Popen]:
    sock = folder / "redis.sock"
    redis = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", "0", "--unixsocket",
                              str(sock), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            Redis(unix_socket_path=str(sock)).ping()
            break
        except Exception:
            time.sleep(0.05)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "IVR_PUBLIC_URL": base,
           "IVR_BIND": f"127.0.0.1:{port}", "IVR_WEB_WORKERS": str(web_workers), "IVR_REDIS_URL": f"unix://{sock}",
           "IVR_DATABASE_URL": f"sqlite:///{folder / 'ivr.db'}", "IVR_RECORDINGS_DIR": str(folder / "recordings"),
           "IVR_TWILIO_API_URL": rest_url, "IVR_CLOCK": TUESDAY_MORNING, "IVR_LOG_LEVEL": "WARNING",
           "IVR_SECRET_KEY": "load-bench-secret-key-0123456789abcdef"}
    service = subprocess.Popen([str(IVR), "serve", "--job-workers", str(job_workers)], env=env,
                               stdout=subprocess.DEVNULL, stderr=open(folder / "service.log", "w"))
    for _ in range(1200):  # up to two minutes on a busy machine
        try:
            if requests.get(base + "/healthz", timeout=2).ok:
                return service, base, redis
        except requests.RequestException:
            time.sleep(0.1)
    service.terminate()  # `ivr serve` stops gunicorn and the job workers with it
    service.wait(30)
    redis.terminate()
    raise SystemExit("the service did not start: see " + str(folder / "service.log"))


def hold_streams(base: str, count: int, stop: threading.Event) -> dict:
    """Open `count` signed streams and keep them open until `stop`; count the refused ones."""
    signer = Twilio(None, ACCOUNT_SID, AUTH_TOKEN, [])
    url = "ws://" + base.removeprefix("http://") + "/voice/stream"
    result = {"open": 0, "refused": 0}
    sockets = []
    for _ in range(count):
        ws = simple_websocket.Client.connect(url, headers={"X-Twilio-Signature": signer.sign(url, {})})
        try:
            ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            ws.receive(timeout=0.3)  # a refused stream is closed at once
            sockets.append(ws)
            result["open"] += 1
        except simple_websocket.ConnectionClosed:
            result["refused"] += 1

    def keep_alive():
        while not stop.wait(5):
            for ws in sockets:
                try:
                    ws.send(json.dumps({"event": "mark", "mark": {"name": "keep-alive"}}))
                except simple_websocket.ConnectionClosed:
                    pass
        for ws in sockets:
            ws.close()

    threading.Thread(target=keep_alive, daemon=True).start()
    return result


def one_call(base: str, log: list, outcomes: list) -> None:
    number = NumberConfig(GB, f"{base}/voice/incoming", f"{base}/voice/fallback", f"{base}/voice/status")
    twilio = Twilio(Timed(base, log), ACCOUNT_SID, AUTH_TOKEN, [number])
    try:
        call = twilio.call(GB, f"+4477009{threading.get_ident() % 100000:05d}", SCRIPT)
        outcomes.append("stock error" if call.heard_stock_error else "apology" if call.heard(APOLOGY) else "ok")
    except Exception as error:  # the emulator itself gave up on the call
        outcomes.append(f"failed: {type(error).__name__}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run(calls: int, streams: int, web_workers: int, job_workers: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="ivr-load-"))
    rest_twilio = Twilio(None, ACCOUNT_SID, AUTH_TOKEN, [])
    with rest_twilio.serve_rest() as rest:
        service, base, redis = start_service(folder, rest.url, web_workers, job_workers)
        stop = threading.Event()
        try:
            held = hold_streams(base, streams, stop) if streams else {"open": 0, "refused": 0}
            log: list = []
            outcomes: list = []
            load_before = os.getloadavg()
            started = time.perf_counter()
            threads = [threading.Thread(target=one_call, args=(base, log, outcomes)) for _ in range(calls)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            load_after = os.getloadavg()
        finally:
            stop.set()
            service.terminate()
            service.wait(30)
            redis.terminate()
            shutil.rmtree(folder, ignore_errors=True)
    seconds = [s for _, s, _ in log]
    errors = [(p, status) for p, _, status in log if not 200 <= status < 300]
    return {"calls": calls, "streams_open": held["open"], "streams_refused": held["refused"],
            "webhooks": len(log), "p50_ms": round(percentile(seconds, 0.5) * 1000, 1),
            "p99_ms": round(percentile(seconds, 0.99) * 1000, 1), "max_ms": round(max(seconds) * 1000, 1),
            "mean_ms": round(statistics.fmean(seconds) * 1000, 1), "errors": len(errors),
            "error_kinds": sorted({f"{p} {s}" for p, s in errors})[:5],
            "apology_rate": round(sum(o == "apology" for o in outcomes) / calls, 4),
            "stock_errors": sum(o == "stock error" for o in outcomes),
            "calls_failed": sum(o.startswith("failed") for o in outcomes),
            "seconds": round(elapsed, 1), "webhooks_per_s": round(len(log) / elapsed, 1),
            "load_before": [round(x, 1) for x in load_before], "load_after": [round(x, 1) for x in load_after],
            "cpus": os.cpu_count()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--streams", type=int, default=0)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--job-workers", type=int, default=2)
    options = parser.parse_args()
    print(json.dumps(run(options.calls, options.streams, options.web_workers, options.job_workers), indent=2))


if __name__ == "__main__":
    main()
