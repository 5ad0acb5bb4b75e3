"""Signing the webhooks we send to other systems (the pager, the account system), so they can
tell ours from a forgery: HMAC-SHA256 over the exact JSON body."""
from __future__ import annotations

import hashlib
import hmac
import json


def signed_body(payload: dict, secret: str | None) -> tuple[bytes, dict[str, str]]:
    """JSON body and headers for a webhook to another system, signed with HMAC-SHA256 when a secret is set."""
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-IVR-Signature"] = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, headers
