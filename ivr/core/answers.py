"""Answers to the question a call is waiting on: keys, speech, silence, what the caller said at a
listen step, a transfer's result, leaving the queue, a booked call back."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from ivr.core.actions import BookCallback, FreezeRequest, Gather, Note, Say, StartRecording, Transfer, WaitForAgent
from ivr.core.entering import (
    callback_check,
    consent_record,
    enter_callback_offer,
    enter_consent,
    enter_listen,
    enter_menu,
    enter_queue,
)
from ivr.core.events import CallbackBooked, Digits, Event, Heard, NoInput, QueueLeft, Speech, TransferEnded
from ivr.core.flow import Flow
from ivr.core.prompts import render, say_prompts, says_any, word_list
from ivr.core.running import Outcome, heard_urgent, run
from ivr.core.state import CallbackOffer, CallState, Listening, QueuePlace
from ivr.core.steps import (
    CallbackOfferStep,
    ConsentStep,
    LanguageStep,
    ListenStep,
    MenuStep,
    QueueStep,
    SayStep,
    TransferStep,
)
from ivr.errors import EngineError


def answer(flow: Flow, state: CallState, event: Event) -> Outcome:
    current = flow.steps[state.step]
    if (isinstance(event, TransferEnded) and not isinstance(current, TransferStep)) or \
            (isinstance(event, Heard) and not isinstance(current, ListenStep)) or \
            (isinstance(event, QueueLeft) and not isinstance(current, QueueStep)) or \
            (isinstance(event, CallbackBooked) and not isinstance(current, CallbackOfferStep)):
        raise EngineError(f"call {state.call_sid}: {type(event).__name__} does not answer step '{state.step}'")
    match current:
        case ListenStep():
            return _answer_listen(flow, state, current, event)
        case SayStep():
            return _answer_say(flow, state, current, event)
        case TransferStep():
            return _answer_transfer(flow, state, current, event)
        case LanguageStep():
            return _answer_language(flow, state, current, event)
        case MenuStep():
            return _answer_menu(flow, state, current, event)
        case ConsentStep():
            return _answer_consent(flow, state, current, event)
        case QueueStep():
            return _answer_queue(flow, state, current, event)
        case CallbackOfferStep():
            return _answer_callback_offer(flow, state, current, event)
    raise EngineError(f"step '{state.step}' does not take input")


def _answer_say(flow, state, current: SayStep, event):
    target = current.keys.get(event.digits[:1]) if isinstance(event, Digits) else None
    actions = [Note("key", {"step": state.step, "key": event.digits[:1], "next": target})] if target else []
    return run(flow, state.with_(waiting=False).visiting(target or current.next), actions)


# -- listen steps ----------------------------------------------------------------------------------

def _answer_listen(flow, state, current: ListenStep, event):
    """A description heard (Heard), or an answer to "is that right?" (keys, speech or silence)."""
    if state.listening.confirming:
        return _answer_confirm(flow, state, current, event)
    if isinstance(event, Digits):  # a caller who reaches for the keypad gets the keypad menu
        state = state.with_(waiting=False, listening=replace(state.listening, attempt=None))
        menu = flow.steps[current.on_fail]
        option = menu.options.get(event.digits[:1]) if isinstance(menu, MenuStep) else None
        if option is not None:  # a key of that menu counts as chosen there (callers who know the menu)
            note = Note("menu", {"step": current.on_fail, "key": event.digits[:1], "set": dict(option.set)})
            return run(flow, state.with_vars(**option.set).visiting(current.on_fail).visiting(option.next), [note])
        note = Note("keypad_chosen", {"step": state.step, "key": event.digits})
        return run(flow, state.visiting(current.on_fail), [note])
    if not isinstance(event, Heard):
        raise EngineError(f"call {state.call_sid}: step '{state.step}' waits for what the caller said")
    detail = {"step": state.step, "text": event.text, "intent": event.intent, "confidence": round(event.confidence, 2),
              "source": event.source}
    if event.source == "none":  # no recogniser for this language here: straight to the keypad
        return run(flow, state.with_(waiting=False).visiting(current.on_fail), [Note("listen_unavailable", detail)])
    state = state.with_(transcript=event.text)
    if event.urgent and flow.urgent is not None:
        return heard_urgent(flow, state, event.text, event.confidence, current.confirm_below, detail)
    if event.intent in (None, "other") or not event.text.strip():
        return _listen_again(flow, state, current, Note("not_understood", detail))
    state = state.with_(listening=replace(state.listening, intent=event.intent, issue=event.issue or event.intent))
    if event.confidence >= current.confirm_below:
        return _accept_intent(flow, state, current, [Note("intent", detail)])
    words = render(flow, state, flow.prompt(state.language, f"intent_{event.intent}")) \
        if f"intent_{event.intent}" in flow.prompts[state.language] else event.intent
    question = render(flow, state, flow.prompt(state.language, "confirm_intent"), intent_words=words)
    lang = flow.language(state.language)
    gather = Gather(step=state.step, prompts=(Say(question, lang.say, lang.voice),), timeout=5,
                    speech_language=lang.speech if flow.cloud_speech else None)
    return Outcome((Note("intent_unsure", detail), gather),
                   state.with_(listening=replace(state.listening, confirming=True)))


def _answer_confirm(flow, state, current: ListenStep, event):
    answer, method = _consent_answer(flow, state, event)  # the same yes/no: 1 or yes, 2 or no
    state = state.with_(listening=replace(state.listening, confirming=False))
    note = Note("intent_confirmed" if answer == "given" else "intent_rejected",
                {"intent": state.listening.intent, "method": method})
    if answer == "given":
        return _accept_intent(flow, state, current, [note])
    return _listen_again(flow, state, current, note)


def _accept_intent(flow, state, current: ListenStep, actions):
    heard = state.listening
    state = state.with_vars(intent=heard.intent, issue=heard.issue).with_(listening=Listening(mode=heard.mode))
    return run(flow, state.with_(waiting=False).visiting(current.next), actions)


def _listen_again(flow, state, current: ListenStep, note: Note):
    attempt = (state.listening.attempt or 0) + 1
    if attempt > current.retries:
        state = state.with_(listening=Listening(mode=state.listening.mode))
        gave_up = Note("gave_up", {"step": state.step})
        return run(flow, state.with_(waiting=False).visiting(current.on_fail), [note, gave_up])
    state = state.with_(listening=replace(state.listening, attempt=attempt))
    new_state, actions, _ = enter_listen(flow, state, current)
    return Outcome((note, *actions), new_state)


# -- the security transfer and the agents' queue -----------------------------------------------------

def _answer_transfer(flow, state, current: TransferStep, event):
    if not isinstance(event, TransferEnded):
        return _key_while_ringing(flow, state, current, event)
    note = Note("transfer_attempt", {"attempt": event.attempt + 1, "agent": event.agent, "outcome": event.outcome})
    if event.outcome == "accepted":
        return run(flow, state.with_(waiting=False).visiting(current.connected), [note])
    if event.outcome == "none-left":
        note = Note("transfer_unanswered", {"attempts": event.attempt})
        return run(flow, state.with_(waiting=False).visiting(current.unanswered), [note])
    attempt = event.attempt + 1
    actions = [note, Transfer(state.step, attempt, current.ring_seconds, current.accept_seconds,
                              tuple(say_prompts(flow, state, current.hold)))]
    return Outcome(tuple(actions), state.with_(transfer=replace(state.transfer, attempt=attempt)))


def _key_while_ringing(flow, state, current: TransferStep, event) -> Outcome:
    """A key (or none) while the first agent's phone rings: the freeze key asks for the freeze
    (once); either way the caller goes on waiting for the agent already being rung."""
    actions: list = []
    pressed = event.digits[:1] if isinstance(event, Digits) else None
    if pressed and pressed == current.freeze_key and state.vars.get("freeze") != "requested":
        actions += [Note("key", {"step": state.step, "key": pressed, "next": "freeze"}),
                    FreezeRequest(received=tuple(say_prompts(flow, state, current.received)),
                                  confirmed=tuple(say_prompts(flow, state, current.confirmed)))]
        state = state.with_vars(freeze="requested")
    actions.append(WaitForAgent(state.step, state.transfer.attempt or 0))
    return Outcome(tuple(actions), state)


def _answer_queue(flow, state, current: QueueStep, event):
    """Out of the queue: the conversation is over, the queue is full or closed, a missed agent
    (back in the same place), or a key pressed while holding (the offer key books a call back)."""
    left = QueuePlace(None, state.queue.desk)
    if isinstance(event, QueueLeft):
        note = Note("queue_left", {"step": state.step, "reason": event.reason, "agent": event.agent})
        if event.reason == "connected":
            return run(flow, state.with_(waiting=False, queue=left).visiting(current.connected), [note])
        if event.reason in ("full", "closed"):
            state = state.with_(waiting=False, queue=left, offer=replace(state.offer, source="overflow"))
            return run(flow, state.visiting(current.overflow), [note])
        new_state, actions, _ = enter_queue(flow, state, current)
        return Outcome((note, *actions), new_state)
    if isinstance(event, Digits) and event.digits[:1] == current.offer_key:
        note = Note("callback_chosen", {"step": state.step})
        state = state.with_(waiting=False, offer=replace(state.offer, source="queue", stage=None))
        return run(flow, state.visiting(current.callback), [note])
    new_state, actions, _ = enter_queue(flow, state, current)  # any other key, or none: hold on, same place
    return Outcome(tuple(actions), new_state)


# -- the call back offer ----------------------------------------------------------------------------

def _answer_callback_offer(flow, state, current: CallbackOfferStep, event):
    stage = state.offer.stage
    if isinstance(event, CallbackBooked):
        return _callback_booked(flow, state, current, event)
    if stage == "confirm" and isinstance(event, Digits) and event.digits[:1] in ("1", "2"):
        if event.digits[:1] == "1":
            return _book(flow, state, callback_check(flow, current, state.vars.get("caller", "")).number)
        state = state.with_(attempts=0, offer=replace(state.offer, stage="keyin"))
        new_state, actions, _ = enter_callback_offer(flow, state, current)
        return Outcome(tuple(actions), new_state)
    if stage == "keyin" and isinstance(event, Digits) and event.digits:
        checked = callback_check(flow, current, event.digits)
        if checked.ok:
            return _book(flow, state, checked.number)
        note = Note("callback_number_refused", {"step": state.step, "problem": checked.problem,
                                                "attempt": state.attempts + 1})
        return _offer_again(flow, state, current, note, f"callback_number_{checked.problem}")
    kind = "no_input" if isinstance(event, NoInput) else "invalid_choice"
    note = Note(kind, {"step": state.step, "attempt": state.attempts + 1,
                       "digits": event.digits if isinstance(event, Digits) else None})
    return _offer_again(flow, state, current, note, kind)


def _offer_again(flow, state, current: CallbackOfferStep, note: Note, why: str) -> Outcome:
    attempts = state.attempts + 1
    lead = tuple(say_prompts(flow, state, [why]))
    if attempts > current.retries:
        reason = list(lead) if why.startswith("callback_number_") else []  # a refused number: always say why
        state = state.with_(offer=replace(state.offer, stage=None)).with_vars(number_tail="")
        return run(flow, state.with_(waiting=False).visiting(current.declined),
                   [note, *reason, Note("gave_up", {"step": state.step})])
    new_state, actions, _ = enter_callback_offer(flow, state.with_(attempts=attempts, waiting=False), current, lead)
    return Outcome((note, *actions), new_state)


def _book(flow, state, number: str) -> Outcome:
    source = state.offer.source or ("closed" if state.hours != "open" else "overflow")
    state = state.with_(waiting=True, offer=replace(state.offer, stage="booking", number=number))
    return Outcome((BookCallback(number, source),), state)


def _callback_booked(flow, state, current: CallbackOfferStep, event: CallbackBooked) -> Outcome:
    note = Note("callback_booked", {"step": state.step, "request": event.request, "when": event.when,
                                    "due_local": event.local or None, "keeps_place": event.keeps_place})
    state = state.with_(waiting=False, offer=CallbackOffer())
    if event.when == "failed":
        return run(flow, state.visiting(current.declined), [note])
    due = datetime.fromisoformat(event.local) if event.local else None
    days = [d.strip() for d in flow.prompts[state.language].get("weekdays", "").split(",")]
    state = state.with_vars(callback_minutes=str(max(1, event.minutes)),
                            callback_day=days[due.weekday()] if due and len(days) == 7 else "",
                            callback_time=f"{due:%H:%M}" if due else "")
    state = state.with_(queue=QueuePlace(None, state.queue.desk))
    keys = ["callback_booked_soon" if event.when == "soon" else "callback_booked_opening"]
    if event.keeps_place:
        keys.append("callback_keep_place")
    return run(flow, state.visiting(current.booked), [note, *say_prompts(flow, state, keys)])


# -- menus, languages, consent ----------------------------------------------------------------------

def _answer_language(flow, state, current: LanguageStep, event):
    chosen = current.options.get(event.digits) if isinstance(event, Digits) else None
    method = "dtmf" if chosen else "default"
    language = chosen or flow.language_codes[0]
    state = state.with_(language=language, waiting=False)
    note = Note("language", {"language": language, "method": method})
    return run(flow, state.visiting(current.next), [note])


def _answer_menu(flow, state, current: MenuStep, event):
    option = current.options.get(event.digits) if isinstance(event, Digits) else None
    if option is not None:
        note = Note("menu", {"step": state.step, "key": event.digits, "set": dict(option.set)})
        return run(flow, state.with_vars(**option.set).visiting(option.next), [note])
    return _retry(flow, state, current, event, current.retries, current.on_fail, enter_menu)


def _answer_consent(flow, state, current: ConsentStep, event):
    answer, method = _consent_answer(flow, state, event)
    if answer == "given":
        actions = [consent_record(flow, state, "given", method, current.ask), StartRecording(),
                   *say_prompts(flow, state, ["consent_given"])]
        state = state.with_(consent="given", recording=True)
        return run(flow, state.visiting(current.given), actions)
    if answer == "declined":
        return _decline(flow, state, current, method)
    if state.attempts >= current.retries:
        return _decline(flow, state, current, "timeout" if isinstance(event, NoInput) else method)
    return _retry(flow, state, current, event, current.retries, current.declined, enter_consent)


def _decline(flow, state, current: ConsentStep, method: str) -> Outcome:
    actions = [consent_record(flow, state, "declined", method, current.ask),
               *say_prompts(flow, state, ["consent_declined"])]
    return run(flow, state.with_(consent="declined").visiting(current.declined), actions)


def _consent_answer(flow, state, event) -> tuple[str | None, str]:
    if isinstance(event, Digits):
        return {"1": "given", "2": "declined"}.get(event.digits), "dtmf"
    if isinstance(event, Speech):
        if says_any(event.text, word_list(flow, state, "words_no")):
            return "declined", "speech"
        if says_any(event.text, word_list(flow, state, "words_yes")):
            return "given", "speech"
        return None, "speech"
    return None, "timeout"


def _retry(flow, state, current, event, retries: int, give_up_to: str, reenter) -> Outcome:
    """A wrong key or silence: say so and ask again, or give up after `retries` more tries."""
    attempts = state.attempts + 1
    kind = "no_input" if isinstance(event, NoInput) else "invalid_choice"
    note = Note(kind, {"step": state.step, "attempt": attempts,
                       "digits": event.digits if isinstance(event, Digits) else None})
    if attempts > retries:
        return run(flow, state.visiting(give_up_to), [note, Note("gave_up", {"step": state.step})])
    lead = tuple(say_prompts(flow, state, [kind]))
    state, actions, _ = reenter(flow, state.with_(attempts=attempts, waiting=False), current, lead)
    return Outcome((note, *actions), state)
