"""Turning the engine's actions into TwiML with twilio's own builder."""
from __future__ import annotations

from twilio.twiml.voice_response import Gather as GatherVerb, Start, VoiceResponse

from ivr.actions import Gather, Hangup, Say, StartRecording

RECORDING_EVENTS = "in-progress completed absent"


def render(actions, url_for) -> str:
    """TwiML for the speaking and call-control actions; records and notes are not TwiML."""
    response = VoiceResponse()
    for action in actions:
        match action:
            case Say():
                _say(response, action)
            case Gather():
                response.append(_gather(action, url_for))
            case StartRecording():
                start = Start()
                start.recording(recording_status_callback=url_for("/voice/recording"),
                                recording_status_callback_event=RECORDING_EVENTS, trim="trim-silence")
                response.append(start)
            case Hangup():
                response.hangup()
    return str(response)


def _say(parent, say: Say) -> None:
    parent.say(say.text, language=say.language, voice=say.voice)


def _gather(gather: Gather, url_for) -> GatherVerb:
    verb = GatherVerb(action=url_for("/voice/gather"), method="POST", num_digits=gather.num_digits,
                      timeout=gather.timeout, action_on_empty_result=True,
                      input="dtmf speech" if gather.speech_language else "dtmf",
                      language=gather.speech_language, hints=gather.hints,
                      speech_timeout="auto" if gather.speech_language else None)
    for prompt in gather.prompts:
        _say(verb, prompt)
    return verb


def apology(texts: list[Say]) -> str:
    """The safe answer when something broke: say sorry and where to get help, then hang up."""
    response = VoiceResponse()
    for say in texts:
        _say(response, say)
    response.hangup()
    return str(response)
