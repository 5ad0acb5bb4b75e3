"""A local emulator of Twilio Voice: signs webhooks like Twilio, runs the TwiML the app returns,
plays scripted callers and agents, records real audio, and serves a fake REST API.
Used by the tests and by `ivr call`."""
from ivr.emulator.account import Twilio
from ivr.emulator.calls import EmulatedCall, Heard
from ivr.emulator.config import NumberConfig, Options
from ivr.emulator.script import Agent, HangUp, Press, Silence, Speak

__all__ = ["Agent", "EmulatedCall", "HangUp", "Heard", "NumberConfig", "Options", "Press", "Silence", "Speak",
           "Twilio"]
