"""Turning the engine's actions into TwiML with twilio's own builder."""
from __future__ import annotations

from twilio.twiml.voice_response import Dial, Start, Stop, VoiceResponse
from twilio.twiml.voice_response import Gather as GatherVerb

from ivr.audio.timing import speaking_seconds
from ivr.core.actions import (
    EnterQueue,
    Gather,
    Hangup,
    HearVia,
    HoldForAgent,
    ListenForUrgency,
    Redirect,
    Say,
    StartRecording,
    StopStream,
)

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
                # Dual channels: the caller and the IVR or agent apart (transcribed and redacted
                # apart). Not trimmed: the file's time is the call's time since recording began.
                start.recording(recording_status_callback=url_for("/voice/recording"),
                                recording_status_callback_event=RECORDING_EVENTS, channels="dual", track="both",
                                trim="do-not-trim")
                response.append(start)
            case StopStream():
                stop = Stop()
                stop.stream(name=action.name)
                response.append(stop)
            case HearVia():
                _hear(response, action, url_for)
            case ListenForUrgency():
                start = Start()
                stream = start.stream(url=_websocket_url(url_for("/voice/stream")), name=action.name)
                stream.parameter(name="listen", value="urgency")
                stream.parameter(name="token", value=action.token)
                response.append(start)
            case EnterQueue():
                add_enqueue(response, action.desk, url_for)
            case HoldForAgent():
                _hold_for_agent(response, action, url_for)
            case Redirect():
                response.redirect(url_for(action.path), method="POST")
            case Hangup():
                response.hangup()
    return str(response)


def add_enqueue(response: VoiceResponse, desk: str, url_for) -> None:
    """Wait in the desk's Twilio queue with our hold music (which also decides when to leave)."""
    response.enqueue(desk, action=url_for(f"/voice/queue/left?desk={desk}"), method="POST",
                     wait_url=url_for(f"/voice/queue/wait?desk={desk}"), wait_url_method="POST")


def stream_name(attempt: int) -> str:
    return f"listen-{attempt}"


def _hear(response: VoiceResponse, via: HearVia, url_for) -> None:
    """Speak the listen step's prompts and hear the answer: a media stream to our websocket, a short
    recording, or Twilio's speech gather."""
    listen = via.listen
    query = f"?attempt={listen.attempt}"
    if via.mode == "stream":
        start = Start()
        stream = start.stream(url=_websocket_url(url_for("/voice/stream")), name=stream_name(listen.attempt))
        stream.parameter(name="attempt", value=str(listen.attempt))
        stream.parameter(name="language", value=listen.language)
        prompt_seconds = sum(speaking_seconds(say.text) for say in listen.prompts)
        stream.parameter(name="give_up_ms", value=str(int((prompt_seconds + listen.max_seconds) * 1000)))
        if via.stream_token:
            stream.parameter(name="token", value=via.stream_token)
        response.append(start)
        for say in listen.prompts:
            _say(response, say)
        response.pause(length=listen.max_seconds + 5)  # the stream moves the call on before this ends
        response.redirect(url_for(f"/voice/listen{query}"), method="POST")
    elif via.mode == "record":
        for say in listen.prompts:
            _say(response, say)
        response.record(action=url_for(f"/voice/listen/recorded{query}"), method="POST", max_length=listen.max_seconds,
                        timeout=2, play_beep=False, trim="trim-silence", finish_on_key="#")
    else:  # cloud
        gather = GatherVerb(action=url_for(f"/voice/listen/cloud{query}"), method="POST", input="dtmf speech",
                            num_digits=1,
                            language=via.language_tag, speech_timeout="auto", timeout=5, action_on_empty_result=True)
        for say in listen.prompts:
            _say(gather, say)
        response.append(gather)


def _websocket_url(url: str) -> str:
    return "wss://" + url.removeprefix("https://") if url.startswith("https://") else \
        "ws://" + url.removeprefix("http://")


def _hold_for_agent(response: VoiceResponse, hold: HoldForAgent, url_for) -> None:
    """The caller while the agent rings: the prompts (in a one-key Gather whose answer, or silence,
    comes back to the flow, which then puts them in the queue), or the prompts and their queue."""
    if hold.prompts and hold.listen:
        verb = GatherVerb(action=url_for("/voice/gather"), method="POST", num_digits=1, timeout=1,
                          action_on_empty_result=True)
        for say in hold.prompts:
            _say(verb, say)
        response.append(verb)
        return
    for say in hold.prompts:
        _say(response, say)
    query = f"?attempt={hold.attempt}"
    response.enqueue(hold.queue, action=url_for(f"/voice/security/left{query}"), method="POST",
                     wait_url=url_for(f"/voice/security/wait{query}"), wait_url_method="POST")


def hold_for_agent(says: list[Say], quiet_seconds: int = 10) -> str:
    """The security queue's wait music: quiet, then `says`; Twilio asks again when it runs out."""
    response = VoiceResponse()
    response.pause(length=quiet_seconds)
    for say in says:
        _say(response, say)
    return str(response)


def take_from_queue(says: list[Say], queue: str) -> str:
    """The agent accepted: `says`, then the caller waiting in `queue` is put through."""
    response = VoiceResponse()
    for say in says:
        _say(response, say)
    dial = Dial()
    dial.queue(queue)
    response.append(dial)
    return str(response)


def whisper(brief: list[Say], accept_seconds: int, action_url: str, not_accepted: list[Say]) -> str:
    """What the agent hears on answering: the brief and "press 1"; no key: not accepted, hang up."""
    response = VoiceResponse()
    gather = GatherVerb(action=action_url, method="POST", num_digits=1, timeout=accept_seconds)
    for say in brief:
        _say(gather, say)
    response.append(gather)
    for say in not_accepted:
        _say(response, say)
    response.hangup()
    return str(response)


def speak(texts: list[Say], hang_up: bool = False) -> str:
    response = VoiceResponse()
    for say in texts:
        _say(response, say)
    if hang_up:
        response.hangup()
    return str(response)


def _say(parent, say: Say) -> None:
    parent.say(say.text, language=say.language, voice=say.voice)


def _gather(gather: Gather, url_for) -> GatherVerb:
    verb = GatherVerb(action=url_for("/voice/gather"), method="POST", num_digits=gather.num_digits,
                      timeout=gather.timeout, action_on_empty_result=True, finish_on_key=gather.finish_on_key,
                      input="dtmf speech" if gather.speech_language else "dtmf",
                      language=gather.speech_language, hints=gather.hints,
                      speech_timeout="auto" if gather.speech_language else None)
    for prompt in gather.prompts:
        _say(verb, prompt)
    return verb


def apology(texts: list[Say]) -> str:
    """The safe answer when something broke: say sorry and where to get help, then hang up."""
    return speak(texts, hang_up=True)


def come_back(url: str, seconds: int = 2) -> str:
    """Silence for a moment, then ask `url` again: for a request whose answer another one is
    still preparing."""
    response = VoiceResponse()
    response.pause(length=seconds)
    response.redirect(url, method="POST")
    return str(response)
