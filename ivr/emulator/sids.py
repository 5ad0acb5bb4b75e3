"""Twilio-shaped identifiers: a two-letter prefix and 32 lowercase hex digits."""
import secrets


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)
