"""Prometheus counters, one registry per app so tests and workers never share global state.

Under `ivr serve` every process (each gunicorn worker, each job worker) counts into files in
PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode, which `ivr serve` sets up and
empties at start), and /metrics adds them all up: a scrape sees the whole service, not the one
worker that answered it.
"""
from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.calls_started = Counter("ivr_calls_started", "Inbound calls answered", ["region"],
                                     registry=self.registry)
        self.calls_ended = Counter("ivr_calls_ended", "Calls ended", ["status"], registry=self.registry)
        self.webhook_errors = Counter("ivr_webhook_errors", "Webhooks answered with the apology",
                                      ["route"], registry=self.registry)
        self.signature_failures = Counter("ivr_signature_failures", "Webhooks refused for a bad signature",
                                          ["route"], registry=self.registry)
        self.consents = Counter("ivr_consents", "Consent outcomes", ["region", "outcome"], registry=self.registry)
        self.streams_refused = Counter("ivr_streams_refused", "Media streams refused: every stream slot of the "
                                       "web worker was taken", registry=self.registry)
        self.urgency_streams = Counter("ivr_urgency_streams", "Urgency streams admitted: calls listened to for "
                                       "an urgent phrase through the IVR's questions", registry=self.registry)
        self.speech_decisions = Counter("ivr_speech_decisions", "Listen steps decided from a media stream, by how "
                                        "(final, partial, silence, give_up; urgency_final, urgency_partial: an "
                                        "urgent phrase on a call's urgency stream)", ["how"], registry=self.registry)

        self.deliveries_given_up = Counter("ivr_deliveries_given_up", "Pages and freeze requests still not "
                                           "delivered after their last retry (kind: page, freeze)", ["kind"],
                                           registry=self.registry)

        # set from Redis when /metrics or /readyz is asked (ivr/calls/writer.py); every process sees the same
        self.writer_lag = Gauge("ivr_writer_lag_seconds", "Age of the oldest call record not yet written to the "
                                "database by `ivr writer`", registry=self.registry, multiprocess_mode="mostrecent")
        self.writer_pending = Gauge("ivr_writer_pending", "Call record entries waiting for `ivr writer`",
                                    registry=self.registry, multiprocess_mode="mostrecent")

    def exposition(self) -> bytes:
        if os.environ.get(MULTIPROC_DIR):
            every_process = CollectorRegistry()
            MultiProcessCollector(every_process)
            return generate_latest(every_process)
        return generate_latest(self.registry)
