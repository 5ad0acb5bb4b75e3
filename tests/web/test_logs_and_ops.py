"""What the service tells its operators: JSON log lines with the CallSid as a field and phone numbers
masked; health and readiness that say up or not and nothing more; metrics behind the ops token."""
from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import text

from ivr import create_app
from ivr.db.database import make_engine
from ivr.logs import JsonFormatter, mask_phone_numbers

CALLER = "+447700900123"
OPS_TOKEN = "ops-token-0123456789abcdef0123456789"


def lines(caplog) -> list[dict]:
    formatter = JsonFormatter()
    written = [formatter.format(record) for record in caplog.records]
    assert all("\n" not in line and "\r" not in line for line in written)
    return [json.loads(line) for line in written]


def test_a_refused_requests_callsid_is_a_field_and_cannot_forge_a_line(client, caplog):
    forged = 'CA1\n{"level": "INFO", "message": "signature ok"}\r\x1b[2J'
    with caplog.at_level(logging.WARNING):
        response = client.post("/voice/incoming", data={"CallSid": forged, "From": CALLER})
    assert response.status_code == 403
    [entry] = [e for e in lines(caplog) if e["logger"] == "ivr.web.signature"]
    assert entry["call_sid"] == forged and forged not in entry["message"]


def test_phone_numbers_are_masked_to_their_last_four_digits_in_every_line(caplog):
    log = logging.getLogger("ivr.test")
    with caplog.at_level(logging.INFO):
        log.info("calling back %s (also 020 7946 0100 and 14155550111)", CALLER)
        try:
            raise RuntimeError(f"could not dial {CALLER}")
        except RuntimeError:
            log.exception("failed")
    written = json.dumps(lines(caplog), ensure_ascii=False)
    assert "7700900123" not in written and "4155550111" not in written and "7946 0100" not in written
    assert "…0123" in written and "…0100" in written and "…0111" in written
    assert mask_phone_numbers("ticket 6201906 at 17:00, call 42") == "ticket 6201906 at 17:00, call 42"


def test_a_database_error_carries_no_callers_number(database_url):
    engine = make_engine(database_url)
    with pytest.raises(Exception) as error, engine.connect() as db:
        db.execute(text("INSERT INTO no_such_table (number) VALUES (:number)"), {"number": CALLER})
    engine.dispose()
    assert CALLER not in str(error.value) and "parameters hidden" in str(error.value)


def test_readiness_says_which_store_is_down_but_not_how(settings, clock, sessions):
    app = create_app(settings.with_(redis_url="redis://127.0.0.1:1/0"), clock=clock)
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json == {"ready": False, "checks": {"flows": "ok", "redis": "unavailable", "database": "ok"}}
    assert app.test_client().get("/healthz").json == {"status": "ok"}


def test_metrics_need_the_ops_token(settings, clock, sessions):
    client = create_app(settings.with_(ops_token=OPS_TOKEN), clock=clock).test_client()
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    shown = client.get("/metrics", headers={"Authorization": f"Bearer {OPS_TOKEN}"})
    assert shown.status_code == 200 and b"ivr_signature_failures" in shown.data


def test_metrics_are_off_without_an_ops_token(client):
    assert client.get("/metrics").status_code == 403

