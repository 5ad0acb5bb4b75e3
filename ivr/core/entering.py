"""Entering each kind of step: (flow, state, step) -> (state, actions, next step or None).

A step that asks the caller something returns the state `waiting`; one that does its work and
goes on returns the next step's name.
"""
from __future__ import annotations

import hashlib
from dataclasses import replace

from ivr.core import callback_numbers
from ivr.core.actions import (
    CancelCallbacks,
    ConsentRecorded,
    FreezeRequest,
    Gather,
    Hangup,
    JoinQueue,
    Listen,
    Note,
    PageSecurityTeam,
    QueueSettings,
    RequestCallback,
    Say,
    StartRecording,
    Transfer,
    UpdateTicket,
)
from ivr.core.flow import Flow
from ivr.core.prompts import render, say_prompts
from ivr.core.state import CallState, QueuePlace
from ivr.core.steps import (
    CallbackOfferStep,
    CallbackStep,
    CancelCallbackStep,
    Condition,
    ConsentStep,
    FreezeStep,
    GotoStep,
    HangupStep,
    LanguageStep,
    ListenStep,
    MenuStep,
    QueueStep,
    RouteStep,
    SayStep,
    StartRecordingStep,
    TicketStep,
    TransferStep,
)


def enter_say(flow, state, current: SayStep):
    if current.listens:
        gather = Gather(step=state.step, prompts=tuple(say_prompts(flow, state, current.prompts)),
                        timeout=current.wait, speech_language=speech_language(flow, state))
        return state.with_(waiting=True), [gather], None
    return state, say_prompts(flow, state, current.prompts), current.next


def enter_goto(flow, state, current: GotoStep):
    return state, [], current.next


def enter_language(flow, state, current: LanguageStep):
    prompts = tuple(Say(render(flow, state, flow.prompt(code, "language_option"), digit=key),
                        flow.language(code).say, flow.language(code).voice)
                    for key, code in current.options.items())
    gather = Gather(step=state.step, prompts=prompts, timeout=current.timeout,
                    speech_language=speech_language(flow, state))
    return state.with_(waiting=True), [gather], None


def enter_menu(flow, state, current: MenuStep, lead: tuple[Say, ...] = ()):
    return state.with_(waiting=True), [gather_for(flow, state, current.prompts, current.timeout, lead)], None


def enter_consent(flow, state, current: ConsentStep, lead: tuple[Say, ...] = ()):
    if flow.consent == "one-party":
        notice = say_prompts(flow, state, current.notice)
        record = consent_record(flow, state, "notice", "notice", current.notice)
        state = state.with_(consent="notice", recording=True)
        return state, [*notice, record, StartRecording()], current.given
    return state.with_(waiting=True), [gather_for(flow, state, current.ask, current.timeout, lead)], None


def enter_route(flow, state, current: RouteStep):
    for index, branch in enumerate(current.branches):
        if matches(branch.when, state):
            return state, [Note("route", {"step": state.step, "branch": index + 1, "next": branch.next})], branch.next
    return state, [Note("route", {"step": state.step, "branch": "default", "next": current.default})], current.default


def enter_ticket(flow, state, current: TicketStep):
    changes = {field: (state.vars.get(value[1:], "") if value.startswith("$") else value)
               for field, value in current.update.items()}
    return state, [UpdateTicket(changes)], current.next


def enter_start_recording(flow, state, current: StartRecordingStep):
    if state.recording:
        return state, [], current.next
    if flow.consent == "all-party" and state.consent != "given":
        return state, [Note("recording_refused", {"step": state.step, "consent": state.consent})], current.next
    return state.with_(recording=True), [StartRecording()], current.next


def enter_transfer(flow, state, current: TransferStep):
    """Ring the first person at once; the caller hears the step's prompts while it rings."""
    prompts = tuple(say_prompts(flow, state, current.prompts))
    ring = Transfer(state.step, 0, current.ring_seconds, current.accept_seconds, prompts,
                    listen=bool(current.freeze_key and prompts))
    return state.with_(waiting=True, transfer=replace(state.transfer, attempt=0)), [ring], None


def enter_listen(flow, state, current: ListenStep, lead: tuple[Say, ...] = ()):
    attempt = state.listening.attempt or 0
    keys = current.prompts if attempt == 0 else current.again
    listen = Listen(state.step, lead + tuple(say_prompts(flow, state, keys)), state.language, current.max_seconds,
                    attempt)
    listening = replace(state.listening, attempt=attempt, confirming=False)
    return state.with_(waiting=True, listening=listening), [listen], None


def enter_freeze(flow, state, current: FreezeStep):
    request = FreezeRequest(received=tuple(say_prompts(flow, state, current.received)),
                            confirmed=tuple(say_prompts(flow, state, current.confirmed)))
    return state.with_vars(freeze="requested"), [request], current.next


def enter_callback(flow, state, current: CallbackStep):
    reason = "urgent_unanswered" if current.priority == "urgent" else "caller_request"
    actions = [RequestCallback(current.priority, reason)]
    if current.page:
        actions.append(PageSecurityTeam(reason))
    return state, actions, current.next


def enter_hangup(flow, state, current: HangupStep):
    actions = [*say_prompts(flow, state, current.prompts), Note("end", {"status": "flow_hangup", "step": state.step,
                                                                      "path": list(state.path)}),
               Hangup()]
    return state.with_(ended=True), actions, None


def enter_queue(flow, state, current: QueueStep):
    first = any(matches(condition, state) for condition in current.first)
    rejoining = state.queue.step == state.step  # back from the offer or a missed agent: no welcome
    settings = QueueSettings(announce_every=current.announce_every, hold_music=current.hold_music,
                             offer_key=current.offer_key, offer_over=current.offer_over,
                             offer_after=current.offer_after, max_size=current.max_size)
    actions = [] if rejoining else say_prompts(flow, state, current.prompts)
    actions.append(JoinQueue(state.step, "first" if first else "normal", settings))
    return state.with_(waiting=True, queue=QueuePlace(state.step, state.queue.desk)), actions, None


def enter_callback_offer(flow, state, current: CallbackOfferStep, lead: tuple[Say, ...] = ()):
    """Confirm the calling number when we may call it; otherwise ask for one to be keyed in."""
    caller = state.vars.get("caller", "")
    usable = callback_check(flow, current, caller) if caller else None
    if usable is not None and usable.ok and state.offer.stage != "keyin":
        state = state.with_(offer=replace(state.offer, stage="confirm"))
        state = state.with_vars(number_tail=callback_numbers.tail(usable.number))
        prompts = say_prompts(flow, state, ["callback_confirm_number"])
        return state.with_(waiting=True), [Gather(state.step, lead + tuple(prompts), current.timeout,
                                                  speech_language=speech_language(flow, state))], None
    keys = ["callback_key_number"]
    if caller and not state.offer.stage and not lead:
        keys.insert(0, "callback_number_unusable")  # why we ask, the first time only
    gather = Gather(state.step, lead + tuple(say_prompts(flow, state, keys)), current.timeout, num_digits=20,
                    finish_on_key="#")
    return state.with_(waiting=True, offer=replace(state.offer, stage="keyin")), [gather], None


def enter_cancel_callback(flow, state, current: CancelCallbackStep):
    return state.with_vars(callback_pending=""), [CancelCallbacks(), *say_prompts(flow, state, current.prompts)], \
        current.next


ENTER = {SayStep: enter_say, GotoStep: enter_goto, LanguageStep: enter_language, MenuStep: enter_menu,
         ConsentStep: enter_consent, RouteStep: enter_route, TicketStep: enter_ticket,
         StartRecordingStep: enter_start_recording, HangupStep: enter_hangup, TransferStep: enter_transfer,
         FreezeStep: enter_freeze, CallbackStep: enter_callback, ListenStep: enter_listen,
         QueueStep: enter_queue, CallbackOfferStep: enter_callback_offer, CancelCallbackStep: enter_cancel_callback}


# -- pieces the answers share ----------------------------------------------------------------------

def gather_for(flow, state, keys, timeout: int, lead: tuple[Say, ...] = ()) -> Gather:
    return Gather(step=state.step, prompts=lead + tuple(say_prompts(flow, state, keys)), timeout=timeout,
                  speech_language=speech_language(flow, state))


def speech_language(flow, state) -> str | None:
    """The language tag for Twilio's speech gather at a question, where the region allows it (so an
    urgent phrase is heard there too); None: keys only."""
    lang = flow.language(state.language)
    return lang.speech if flow.cloud_speech and lang.speech else None


def consent_record(flow, state, outcome: str, method: str, keys) -> ConsentRecorded:
    """The consent decision with the version (a hash) of the exact words the caller heard."""
    words = "\n".join(flow.prompt(state.language, key) for key in keys)
    version = hashlib.sha256(words.encode()).hexdigest()[:12]
    return ConsentRecorded(outcome=outcome, method=method, policy=flow.consent, language=state.language,
                           prompt_keys=tuple(keys), prompt_version=version)


def callback_check(flow: Flow, current: CallbackOfferStep, number: str) -> callback_numbers.NumberCheck:
    return callback_numbers.check(number, callback_numbers.home_country(flow.numbers), tuple(current.countries))


def matches(when: Condition, state: CallState) -> bool:
    def one_of(expected, actual) -> bool:
        return actual in expected if isinstance(expected, list) else actual == expected

    if when.hours == "not_open" and state.hours == "open":
        return False
    if when.hours not in (None, "not_open") and state.hours != when.hours:
        return False
    if when.language is not None and not one_of(when.language, state.language):
        return False
    if when.intent is not None and not one_of(when.intent, state.vars.get("intent")):
        return False
    if when.consent == "recording" and not state.recording:
        return False
    if when.consent == "not_recording" and state.recording:
        return False
    if when.consent in ("given", "declined", "notice") and state.consent != when.consent:
        return False
    return all(one_of(expected, state.vars.get(name)) for name, expected in when.vars.items())
