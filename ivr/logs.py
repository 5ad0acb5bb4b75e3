"""The service's logs: one JSON object a line, safe to read and to ship.

- the CallSid is a field (`call_sid`, from `extra={"call_sid": ...}`), never pasted into the text,
  so a CallSid with a newline in it cannot forge a log line (JSON escapes every control character);
- phone numbers are masked to their last 4 digits everywhere: the message, its arguments, the
  exception and its traceback (SQLAlchemy's engines also hide statement parameters: ivr/db);
- the time is when the line was written (the machine's clock: logs are about the process, not
  service time).
"""
from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

PHONE = re.compile(r"(?<![\w+])\+?\d(?:[\d \-().]{5,18})\d(?!\w)")
DIGIT = re.compile(r"\d")


def mask_phone_numbers(text: str) -> str:
    """Every phone-number-looking run (8 to 15 digits, with or without +) shown by its last 4 digits; a
    7-digit ticket reference stays as it is."""
    def masked(match: re.Match) -> str:
        digits = DIGIT.findall(match.group())
        if not 8 <= len(digits) <= 15:
            return match.group()
        return "…" + "".join(digits[-4:])
    return PHONE.sub(masked, text)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, call_sid (when given), exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name,
                 "message": mask_phone_numbers(record.getMessage())}
        call_sid = getattr(record, "call_sid", None)
        if call_sid is not None:
            entry["call_sid"] = str(call_sid)[:64]
        if record.exc_info:
            entry["exception"] = mask_phone_numbers(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=True)


def configure(level: str) -> None:
    """The root logger writes JSON lines to stderr at `level` (once per process; again only resets the level)."""
    root = logging.getLogger()
    root.setLevel(level)
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)  # it logs every header at INFO
