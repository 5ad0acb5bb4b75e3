"""A local emulator of Twilio Voice: signs webhooks like Twilio, runs the TwiML the app returns,
plays scripted callers and agents, records real audio, and serves a fake REST API.
Used by the tests and by `ivr call`; `scenarios`, `runner`, `report` and `desk_preset` run scenario
files against the app.

An edge (its scenario runner builds the app); the Twilio fake itself imports only ivr.audio,
ivr.errors and ivr.settings.
"""
from ivr.emulator.account import Twilio
from ivr.emulator.calls import EmulatedCall, Heard
from ivr.emulator.config import NumberConfig, Options
from ivr.emulator.script import Agent, HangUp, Press, Silence, Speak

__all__ = ["Agent", "EmulatedCall", "HangUp", "Heard", "NumberConfig", "Options", "Press", "Silence", "Speak",
           "Twilio"]
