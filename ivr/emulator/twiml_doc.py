"""A TwiML document as the emulator runs it: the reply parsed into a <Response> element, and `Jump`,
where a verb sends the call next."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass


@dataclass(frozen=True)
class Jump:
    url: str
    method: str = "POST"
    params: dict | None = None
    document: ET.Element | None = None  # inline TwiML from a REST update: run it, fetch nothing


def parse_twiml(reply) -> tuple[ET.Element | None, int | None]:
    """The <Response> of a webhook's reply, or None and the Twilio error code it earns."""
    if not 200 <= reply.status < 300:
        return None, 11200
    kind = reply.content_type.split(";")[0].strip().lower()
    if kind not in ("text/xml", "application/xml", "text/html", "text/plain"):
        return None, 12300
    try:
        return parse_xml(reply.body), None
    except ValueError:
        return None, 12100


def parse_xml(text: str) -> ET.Element:
    """TwiML text (a reply's body, or a REST `Twiml` parameter) as its <Response>; ValueError if it is not one."""
    try:
        root = ET.fromstring(text.encode())
    except ET.ParseError as exc:
        raise ValueError(str(exc)) from None
    if root.tag != "Response":
        raise ValueError("the root element is not <Response>")
    return root
