"""Counters of every process in one scrape (issue 13, Low: prometheus-client's multiprocess mode):
what `ivr serve` sets up for its gunicorn and job workers, with real separate processes."""
from __future__ import annotations

import re
import subprocess
import sys

from ivr.cli.serve import _metrics_dir
from ivr.metrics import MULTIPROC_DIR, Metrics

COUNT = """
from ivr.metrics import Metrics
metrics = Metrics()
metrics.signature_failures.labels("voice.incoming").inc({n})
metrics.deliveries_given_up.labels("page").inc()
"""


def test_one_scrape_adds_up_every_process_and_serve_starts_the_count_afresh(tmp_path, monkeypatch):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"left over from the last run")
    monkeypatch.setenv(MULTIPROC_DIR, str(folder))
    assert _metrics_dir() == folder and not list(folder.glob("*.db"))  # emptied at start
    for n in (3, 4):  # a gunicorn worker and a job worker, say
        subprocess.run([sys.executable, "-c", COUNT.format(n=n)], check=True, timeout=60,
                       env={"PROMETHEUS_MULTIPROC_DIR": str(folder), "PATH": "/usr/bin:/bin"})
    text = Metrics().exposition().decode()
    assert re.search(r'^ivr_signature_failures_total\{route="voice.incoming"\} 7.0$', text, re.M), text
    assert re.search(r'^ivr_deliveries_given_up_total\{kind="page"\} 2.0$', text, re.M), text


def test_without_the_folder_a_process_shows_its_own_counters(monkeypatch):
    monkeypatch.delenv(MULTIPROC_DIR, raising=False)
    metrics = Metrics()
    metrics.calls_started.labels("gb").inc()
    assert 'ivr_calls_started_total{region="gb"} 1.0' in metrics.exposition().decode()
