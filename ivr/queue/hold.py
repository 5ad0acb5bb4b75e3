"""What a caller waiting in the agents' queue hears: their place and the estimated wait (on
joining, and each time the hold music comes round), the offer of a call back once the wait is long,
and the hold music or quiet in between; and what the agent and a called-back customer hear."""
from __future__ import annotations

from twilio.twiml.voice_response import Dial, VoiceResponse
from twilio.twiml.voice_response import Gather as GatherVerb

from ivr.calls.twiml import add_enqueue
from ivr.core.actions import QueueSettings, Say
from ivr.core.flow import Flow
from ivr.queue.desk_queue import Member

SHORT_WAIT = 90  # seconds; below this the caller hears "about a minute"
AGENT_RING_SECONDS = 20


class _Values(dict):
    def __missing__(self, key):
        return ""


def words(flow: Flow, language: str, keys: list[str], **values) -> list[Say]:
    """The prompts `keys` in `language` (the region's first language if it has no such prompts)."""
    lang = flow.language(language)
    book = flow.prompts[lang.code]
    base = {"region_name": flow.name, "help_centre": flow.help_centre, "support_email": flow.support_email}
    return [Say(book[key].format_map(_Values({**base, **values})), lang.say, lang.voice) for key in keys if key in book]


def announcement(flow: Flow, member: Member, place: int, wait_seconds: int, waited_seconds: int) -> list[Say]:
    """"You are number 3 in the queue. The estimated wait is about 9 minutes." and, when the wait
    is long or has been long, the offer of a call back."""
    settings = member.settings
    keys = ["queue_next" if place <= 1 else "queue_position",
            "queue_wait_short" if wait_seconds <= SHORT_WAIT else "queue_wait"]
    if settings.offer_key and (wait_seconds >= settings.offer_over or waited_seconds >= settings.offer_after):
        keys.append("queue_offer")
    return words(flow, member.language, keys, queue_position=str(place),
                 queue_minutes=str(max(2, round(wait_seconds / 60))), queue_offer_key=settings.offer_key or "")


def hold_music(says: list[Say], settings: QueueSettings, key_url: str) -> str:
    """The waitUrl document: the announcement and the music (or quiet), listening for one key
    (the offer key, or the urgent key) all along. When it runs out Twilio asks again."""
    response = VoiceResponse()
    gather = GatherVerb(action=key_url, method="POST", num_digits=1, timeout=1)
    for say in says:
        gather.say(say.text, language=say.language, voice=say.voice)
    if settings.hold_music:
        gather.play(settings.hold_music)
    else:
        gather.pause(length=settings.announce_every)
    response.append(gather)
    return str(response)


def leave_for_agent(says: list[Say]) -> str:
    """The waitUrl document when an agent has been claimed for the caller: leave Twilio's queue
    (its <Enqueue> action then dials the agent)."""
    response = VoiceResponse()
    for say in says:
        response.say(say.text, language=say.language, voice=say.voice)
    response.leave()
    return str(response)


def dial_agent(phone: str, caller_id: str | None, action_url: str, whisper_url: str) -> str:
    """Ring the agent; they hear who is calling (the whisper) before the caller is put through."""
    response = VoiceResponse()
    dial = Dial(action=action_url, method="POST", timeout=AGENT_RING_SECONDS, caller_id=caller_id,
                answer_on_bridge=True)
    dial.number(phone, url=whisper_url, method="POST")
    response.append(dial)
    return str(response)


def enqueue(desk: str, url_for, says: list[Say] = ()) -> str:
    """Say `says`, then wait in the desk's queue with our hold music."""
    response = VoiceResponse()
    for say in says:
        response.say(say.text, language=say.language, voice=say.voice)
    add_enqueue(response, desk, url_for)
    return str(response)


def goodbye(says: list[Say]) -> str:
    response = VoiceResponse()
    for say in says:
        response.say(say.text, language=say.language, voice=say.voice)
    response.hangup()
    return str(response)
