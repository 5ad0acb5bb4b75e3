"""A local emulator of Twilio Voice: signs webhooks like Twilio, runs the TwiML the app returns,
and plays a scripted caller. Used by the tests and by `ivr call`."""
from ivr.emulator.script import HangUp, Press, Silence, Speak
from ivr.emulator.voice import EmulatedCall, NumberConfig, Twilio

__all__ = ["EmulatedCall", "HangUp", "NumberConfig", "Press", "Silence", "Speak", "Twilio"]
