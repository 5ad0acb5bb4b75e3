"""The pure step machine: (flow, call state, event, now) -> (actions, new state).

No Flask, Twilio, Redis, database or clock in here. The web layer feeds events in and turns the
returned actions into TwiML and records.
"""
from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from datetime import datetime

from ivr.core import callback_numbers
from ivr.core.actions import (Action, BookCallback, CancelCallbacks, ConsentRecorded, FreezeRequest, Gather, Hangup,
                         JoinQueue, Listen, Note, QueueSettings, RequestCallback, Say, StartRecording, Transfer,
                         UpdateTicket)
from ivr.errors import EngineError
from ivr.flows.loader import Flow
from ivr.core.state import (CallbackBooked, CallEnded, CallStarted, CallState, Digits, Event, Heard, NoInput, QueueLeft,
                       Speech, TransferEnded)
from ivr.core.steps import (CallbackOfferStep, CallbackStep, CancelCallbackStep, Condition, ConsentStep, FreezeStep,
                       GotoStep, HangupStep, LanguageStep, ListenStep, MenuStep, QueueStep, RouteStep, SayStep,
                       StartRecordingStep, TicketStep, TransferStep)

MAX_TRANSITIONS = 100  # steps run for one event before we call it a loop


@dataclass(frozen=True)
class Outcome:
    actions: tuple[Action, ...]
    state: CallState

    @property
    def waiting(self) -> bool:
        return self.state.waiting


def new_call(flow: Flow, call_sid: str, **vars: str) -> CallState:
    """The state of a call that has not been answered yet."""
    return CallState(call_sid=call_sid, region=flow.region, flow_version=flow.version,
                     language=flow.language_codes[0]).with_vars(**vars)


def step(flow: Flow, state: CallState, event: Event, now: datetime) -> Outcome:
    """Apply one event to a call and run the flow until it needs input or ends."""
    if state.ended:
        return Outcome((), state)
    match event:
        case CallStarted():
            return _start(flow, state, now)
        case CallEnded(status=status):
            note = Note("end", {"status": status, "step": state.step, "waiting": state.waiting,
                                "path": list(state.path)})
            return Outcome((note,), state.with_(ended=True, waiting=False))
        case Digits() | Speech() | NoInput() | TransferEnded() | Heard() | QueueLeft() | CallbackBooked():
            if not state.waiting or state.step not in flow.steps:
                raise EngineError(f"call {state.call_sid}: input arrived but no question is open")
            if _is_urgent_key(flow, state, event):
                return go_urgent(flow, state, "keypad")
            return _answer(flow, state, event)
    raise EngineError(f"unknown event {event!r}")


def _start(flow: Flow, state: CallState, now: datetime) -> Outcome:
    hours = flow.hours.status_at(now)
    state = state.with_(hours=hours.state).with_vars(holiday=hours.holiday or "")
    notes = [Note("region", {"region": flow.region, "flow_version": flow.version}),
             Note("hours", {"state": hours.state, "holiday": hours.holiday,
                            "local_time": now.astimezone(flow.hours.zone).isoformat(timespec="minutes")})]
    if flow.urgent and state.vars.get("security_ticket"):  # a caller already on an open security ticket
        return go_urgent(flow, state, "repeat_caller", notes)
    return _run(flow, state.visiting(flow.start), notes)


def _is_urgent_key(flow: Flow, state: CallState, event: Event) -> bool:
    return (flow.urgent is not None and isinstance(event, Digits) and event.digits[:1] == flow.urgent.key
            and not state.vars.get("urgent") and state.vars.get("offer_stage") != "keyin")  # a number may start with 9


def go_urgent(flow: Flow, state: CallState, trigger: str, actions: list[Action] | None = None) -> Outcome:
    """Leave whatever the caller was doing for the security fast path (hours do not apply to it)."""
    if flow.urgent is None:
        raise EngineError(f"{flow.source}: this region has no urgent path")
    note = Note("urgent", {"trigger": trigger, "from_step": state.step})
    state = state.with_(waiting=False, attempts=0).with_vars(urgent=trigger)
    return _run(flow, state.visiting(flow.urgent.start), [*(actions or []), note])


def _answer(flow: Flow, state: CallState, event: Event) -> Outcome:
    current = flow.steps[state.step]
    if isinstance(event, TransferEnded) != isinstance(current, TransferStep) or \
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


def _run(flow: Flow, state: CallState, actions: list[Action]) -> Outcome:
    """Execute steps from state.step until one waits for the caller or the call ends."""
    for _ in range(MAX_TRANSITIONS):
        current = flow.steps[state.step]
        handler = _ENTER[type(current)]
        state, produced, next_step = handler(flow, state, current)
        actions.extend(produced)
        if state.waiting or state.ended:
            return Outcome(tuple(actions), state)
        state = state.visiting(next_step)
    raise EngineError(f"{flow.source}: step '{state.step}': the flow loops without asking the caller anything")


# -- entering each kind of step: (flow, state, step) -> (state, actions, next step or None) ---------

def _enter_say(flow, state, current: SayStep):
    if current.listens:
        gather = Gather(step=state.step, prompts=tuple(say_prompts(flow, state, current.prompts)),
                        timeout=current.wait)
        return state.with_(waiting=True), [gather], None
    return state, say_prompts(flow, state, current.prompts), current.next


def _enter_goto(flow, state, current: GotoStep):
    return state, [], current.next


def _enter_language(flow, state, current: LanguageStep):
    prompts = tuple(Say(_render(flow, state, flow.prompt(code, "language_option"), digit=key),
                        flow.language(code).say, flow.language(code).voice)
                    for key, code in current.options.items())
    gather = Gather(step=state.step, prompts=prompts, timeout=current.timeout)
    return state.with_(waiting=True), [gather], None


def _enter_menu(flow, state, current: MenuStep, lead: tuple[Say, ...] = ()):
    return state.with_(waiting=True), [_gather(flow, state, current.prompts, current.timeout, lead)], None


def _enter_consent(flow, state, current: ConsentStep, lead: tuple[Say, ...] = ()):
    if flow.consent == "one-party":
        notice = say_prompts(flow, state, current.notice)
        record = _consent(flow, state, "notice", "notice", current.notice)
        state = state.with_(consent="notice", recording=True)
        return state, [*notice, record, StartRecording()], current.given
    return state.with_(waiting=True), [_gather(flow, state, current.ask, current.timeout, lead)], None


def _enter_route(flow, state, current: RouteStep):
    for index, branch in enumerate(current.branches):
        if _matches(branch.when, state):
            return state, [Note("route", {"step": state.step, "branch": index + 1, "next": branch.next})], branch.next
    return state, [Note("route", {"step": state.step, "branch": "default", "next": current.default})], current.default


def _enter_ticket(flow, state, current: TicketStep):
    changes = {field: (state.vars.get(value[1:], "") if value.startswith("$") else value)
               for field, value in current.update.items()}
    return state, [UpdateTicket(changes)], current.next


def _enter_start_recording(flow, state, current: StartRecordingStep):
    if state.recording:
        return state, [], current.next
    if flow.consent == "all-party" and state.consent != "given":
        return state, [Note("recording_refused", {"step": state.step, "consent": state.consent})], current.next
    return state.with_(recording=True), [StartRecording()], current.next


def _enter_transfer(flow, state, current: TransferStep):
    actions = [*say_prompts(flow, state, current.prompts),
               Transfer(state.step, 0, current.ring_seconds, current.accept_seconds)]
    return state.with_(waiting=True).with_vars(transfer_attempt="0"), actions, None


def _enter_listen(flow, state, current: ListenStep, lead: tuple[Say, ...] = ()):
    attempt = int(state.vars.get("listen_attempt") or 0)
    keys = current.prompts if attempt == 0 else current.again
    listen = Listen(state.step, lead + tuple(say_prompts(flow, state, keys)), state.language, current.max_seconds,
                    attempt)
    return state.with_(waiting=True).with_vars(listen_attempt=str(attempt), confirming=""), [listen], None


def _enter_freeze(flow, state, current: FreezeStep):
    request = FreezeRequest(received=tuple(say_prompts(flow, state, current.received)),
                            confirmed=tuple(say_prompts(flow, state, current.confirmed)))
    return state.with_vars(freeze="requested"), [request], current.next


def _enter_callback(flow, state, current: CallbackStep):
    reason = "urgent_unanswered" if current.priority == "urgent" else "caller_request"
    return state, [RequestCallback(current.priority, reason, current.page)], current.next


def _enter_hangup(flow, state, current: HangupStep):
    actions = [*say_prompts(flow, state, current.prompts), Note("end", {"status": "flow_hangup", "step": state.step,
                                                                      "path": list(state.path)}),
               Hangup()]
    return state.with_(ended=True), actions, None


def _enter_queue(flow, state, current: QueueStep):
    first = any(_matches(condition, state) for condition in current.first)
    rejoining = state.vars.get("queue_step") == state.step  # back from the offer or a missed agent: no welcome
    settings = QueueSettings(announce_every=current.announce_every, hold_music=current.hold_music,
                             offer_key=current.offer_key, offer_over=current.offer_over,
                             offer_after=current.offer_after, max_size=current.max_size)
    actions = [] if rejoining else say_prompts(flow, state, current.prompts)
    actions.append(JoinQueue(state.step, "first" if first else "normal", settings))
    return state.with_(waiting=True).with_vars(queue_step=state.step), actions, None


def _enter_callback_offer(flow, state, current: CallbackOfferStep, lead: tuple[Say, ...] = ()):
    """Confirm the calling number when we may call it; otherwise ask for one to be keyed in."""
    caller = state.vars.get("caller", "")
    usable = _callback_check(flow, current, caller) if caller else None
    if usable is not None and usable.ok and state.vars.get("offer_stage") != "keyin":
        state = state.with_vars(offer_stage="confirm", number_tail=callback_numbers.tail(usable.number))
        prompts = say_prompts(flow, state, ["callback_confirm_number"])
        return state.with_(waiting=True), [Gather(state.step, lead + tuple(prompts), current.timeout)], None
    keys = ["callback_key_number"]
    if caller and not state.vars.get("offer_stage") and not lead:
        keys.insert(0, "callback_number_unusable")  # why we ask, the first time only
    gather = Gather(state.step, lead + tuple(say_prompts(flow, state, keys)), current.timeout, num_digits=20,
                    finish_on_key="#")
    return state.with_(waiting=True).with_vars(offer_stage="keyin"), [gather], None


def _enter_cancel_callback(flow, state, current: CancelCallbackStep):
    return state.with_vars(callback_pending=""), [CancelCallbacks(), *say_prompts(flow, state, current.prompts)], \
        current.next


_ENTER = {SayStep: _enter_say, GotoStep: _enter_goto, LanguageStep: _enter_language, MenuStep: _enter_menu,
          ConsentStep: _enter_consent, RouteStep: _enter_route, TicketStep: _enter_ticket,
          StartRecordingStep: _enter_start_recording, HangupStep: _enter_hangup, TransferStep: _enter_transfer,
          FreezeStep: _enter_freeze, CallbackStep: _enter_callback, ListenStep: _enter_listen,
          QueueStep: _enter_queue, CallbackOfferStep: _enter_callback_offer, CancelCallbackStep: _enter_cancel_callback}


# -- answers to open questions ---------------------------------------------------------------------

def _answer_say(flow, state, current: SayStep, event):
    target = current.keys.get(event.digits[:1]) if isinstance(event, Digits) else None
    actions = [Note("key", {"step": state.step, "key": event.digits[:1], "next": target})] if target else []
    return _run(flow, state.with_(waiting=False).visiting(target or current.next), actions)


def _answer_listen(flow, state, current: ListenStep, event):
    """A description heard (Heard), or an answer to "is that right?" (keys, speech or silence)."""
    if state.vars.get("confirming"):
        return _answer_confirm(flow, state, current, event)
    if isinstance(event, Digits):  # a caller who reaches for the keypad gets the keypad menu
        state = state.with_(waiting=False).with_vars(listen_attempt="")
        menu = flow.steps[current.on_fail]
        option = menu.options.get(event.digits[:1]) if isinstance(menu, MenuStep) else None
        if option is not None:  # a key of that menu counts as chosen there (callers who know the menu)
            note = Note("menu", {"step": current.on_fail, "key": event.digits[:1], "set": dict(option.set)})
            return _run(flow, state.with_vars(**option.set).visiting(current.on_fail).visiting(option.next), [note])
        note = Note("keypad_chosen", {"step": state.step, "key": event.digits})
        return _run(flow, state.visiting(current.on_fail), [note])
    if not isinstance(event, Heard):
        raise EngineError(f"call {state.call_sid}: step '{state.step}' waits for what the caller said")
    detail = {"step": state.step, "text": event.text, "intent": event.intent, "confidence": round(event.confidence, 2),
              "source": event.source}
    if event.source == "none":  # no recogniser for this language here: straight to the keypad
        return _run(flow, state.with_(waiting=False).visiting(current.on_fail), [Note("listen_unavailable", detail)])
    state = state.with_vars(transcript=event.text)
    if event.urgent:
        return go_urgent(flow, state, "speech", [Note("intent", detail)])
    if event.intent in (None, "other") or not event.text.strip():
        return _listen_again(flow, state, current, Note("not_understood", detail))
    state = state.with_vars(pending_intent=event.intent, pending_issue=event.issue or event.intent)
    if event.confidence >= current.confirm_below:
        return _accept_intent(flow, state, current, [Note("intent", detail)])
    words = _render(flow, state, flow.prompt(state.language, f"intent_{event.intent}")) \
        if f"intent_{event.intent}" in flow.prompts[state.language] else event.intent
    question = _render(flow, state, flow.prompt(state.language, "confirm_intent"), intent_words=words)
    lang = flow.language(state.language)
    gather = Gather(step=state.step, prompts=(Say(question, lang.say, lang.voice),), timeout=5,
                    speech_language=lang.speech if flow.cloud_speech else None)
    return Outcome((Note("intent_unsure", detail), gather), state.with_vars(confirming="yes"))


def _answer_confirm(flow, state, current: ListenStep, event):
    answer, method = _consent_answer(flow, state, event)  # the same yes/no: 1 or yes, 2 or no
    state = state.with_vars(confirming="")
    note = Note("intent_confirmed" if answer == "given" else "intent_rejected",
                {"intent": state.vars.get("pending_intent"), "method": method})
    if answer == "given":
        return _accept_intent(flow, state, current, [note])
    return _listen_again(flow, state, current, note)


def _accept_intent(flow, state, current: ListenStep, actions):
    state = state.with_vars(intent=state.vars["pending_intent"], issue=state.vars["pending_issue"], pending_intent="",
                            pending_issue="", listen_attempt="")
    return _run(flow, state.with_(waiting=False).visiting(current.next), actions)


def _listen_again(flow, state, current: ListenStep, note: Note):
    attempt = int(state.vars.get("listen_attempt") or 0) + 1
    if attempt > current.retries:
        state = state.with_vars(listen_attempt="", pending_intent="", pending_issue="")
        return _run(flow, state.with_(waiting=False).visiting(current.on_fail), [note, Note("gave_up", {"step": state.step})])
    state = state.with_vars(listen_attempt=str(attempt))
    new_state, actions, _ = _enter_listen(flow, state, current)
    return Outcome((note, *actions), new_state)


def _answer_transfer(flow, state, current: TransferStep, event: TransferEnded):
    note = Note("transfer_attempt", {"attempt": event.attempt + 1, "agent": event.agent, "outcome": event.outcome})
    if event.outcome == "accepted":
        return _run(flow, state.with_(waiting=False).visiting(current.connected), [note])
    if event.outcome == "none-left":
        note = Note("transfer_unanswered", {"attempts": event.attempt})
        return _run(flow, state.with_(waiting=False).visiting(current.unanswered), [note])
    attempt = event.attempt + 1
    actions = [note, *say_prompts(flow, state, current.hold),
               Transfer(state.step, attempt, current.ring_seconds, current.accept_seconds)]
    return Outcome(tuple(actions), state.with_vars(transfer_attempt=str(attempt)))


def _answer_queue(flow, state, current: QueueStep, event):
    """Out of the queue: the conversation is over, the queue is full or closed, a missed agent
    (back in the same place), or a key pressed while holding (the offer key books a call back)."""
    if isinstance(event, QueueLeft):
        note = Note("queue_left", {"step": state.step, "reason": event.reason, "agent": event.agent})
        if event.reason == "connected":
            return _run(flow, state.with_(waiting=False).with_vars(queue_step="").visiting(current.connected), [note])
        if event.reason in ("full", "closed"):
            state = state.with_(waiting=False).with_vars(queue_step="", offer_from="overflow")
            return _run(flow, state.visiting(current.overflow), [note])
        new_state, actions, _ = _enter_queue(flow, state, current)
        return Outcome((note, *actions), new_state)
    if isinstance(event, Digits) and event.digits[:1] == current.offer_key:
        note = Note("callback_chosen", {"step": state.step})
        state = state.with_(waiting=False).with_vars(offer_from="queue", offer_stage="")
        return _run(flow, state.visiting(current.callback), [note])
    new_state, actions, _ = _enter_queue(flow, state, current)  # any other key, or none: hold on, same place
    return Outcome(tuple(actions), new_state)


def _answer_callback_offer(flow, state, current: CallbackOfferStep, event):
    stage = state.vars.get("offer_stage")
    if isinstance(event, CallbackBooked):
        return _callback_booked(flow, state, current, event)
    if stage == "confirm" and isinstance(event, Digits) and event.digits[:1] in ("1", "2"):
        if event.digits[:1] == "1":
            return _book(flow, state, _callback_check(flow, current, state.vars.get("caller", "")).number)
        state = state.with_(attempts=0).with_vars(offer_stage="keyin")
        new_state, actions, _ = _enter_callback_offer(flow, state, current)
        return Outcome(tuple(actions), new_state)
    if stage == "keyin" and isinstance(event, Digits) and event.digits:
        checked = _callback_check(flow, current, event.digits)
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
        state = state.with_vars(offer_stage="", number_tail="")
        return _run(flow, state.with_(waiting=False).visiting(current.declined),
                    [note, *reason, Note("gave_up", {"step": state.step})])
    new_state, actions, _ = _enter_callback_offer(flow, state.with_(attempts=attempts, waiting=False), current, lead)
    return Outcome((note, *actions), new_state)


def _book(flow, state, number: str) -> Outcome:
    source = state.vars.get("offer_from") or ("closed" if state.hours != "open" else "overflow")
    state = state.with_(waiting=True).with_vars(offer_stage="booking", callback_number=number)
    return Outcome((BookCallback(number, source),), state)


def _callback_booked(flow, state, current: CallbackOfferStep, event: CallbackBooked) -> Outcome:
    note = Note("callback_booked", {"step": state.step, "request": event.request, "when": event.when,
                                    "due_local": event.local or None, "keeps_place": event.keeps_place})
    state = state.with_(waiting=False).with_vars(offer_stage="", offer_from="")
    if event.when == "failed":
        return _run(flow, state.visiting(current.declined), [note])
    due = datetime.fromisoformat(event.local) if event.local else None
    days = [d.strip() for d in flow.prompts[state.language].get("weekdays", "").split(",")]
    state = state.with_vars(callback_minutes=str(max(1, event.minutes)),
                            callback_day=days[due.weekday()] if due and len(days) == 7 else "",
                            callback_time=f"{due:%H:%M}" if due else "", queue_step="")
    keys = ["callback_booked_soon" if event.when == "soon" else "callback_booked_opening"]
    if event.keeps_place:
        keys.append("callback_keep_place")
    return _run(flow, state.visiting(current.booked), [note, *say_prompts(flow, state, keys)])


def _callback_check(flow, current: CallbackOfferStep, number: str) -> callback_numbers.NumberCheck:
    return callback_numbers.check(number, callback_numbers.home_country(flow.numbers), tuple(current.countries))


def _answer_language(flow, state, current: LanguageStep, event):
    chosen = current.options.get(event.digits) if isinstance(event, Digits) else None
    method = "dtmf" if chosen else "default"
    language = chosen or flow.language_codes[0]
    state = state.with_(language=language, waiting=False)
    note = Note("language", {"language": language, "method": method})
    return _run(flow, state.visiting(current.next), [note])


def _answer_menu(flow, state, current: MenuStep, event):
    option = current.options.get(event.digits) if isinstance(event, Digits) else None
    if option is not None:
        note = Note("menu", {"step": state.step, "key": event.digits, "set": dict(option.set)})
        return _run(flow, state.with_vars(**option.set).visiting(option.next), [note])
    return _retry(flow, state, current, event, current.retries, current.on_fail, _enter_menu)


def _answer_consent(flow, state, current: ConsentStep, event):
    answer, method = _consent_answer(flow, state, event)
    if answer == "given":
        actions = [_consent(flow, state, "given", method, current.ask), StartRecording(),
                   *say_prompts(flow, state, ["consent_given"])]
        state = state.with_(consent="given", recording=True)
        return _run(flow, state.visiting(current.given), actions)
    if answer == "declined":
        return _decline(flow, state, current, method)
    if state.attempts >= current.retries:
        return _decline(flow, state, current, "timeout" if isinstance(event, NoInput) else method)
    return _retry(flow, state, current, event, current.retries, current.declined, _enter_consent)


def _decline(flow, state, current: ConsentStep, method: str) -> Outcome:
    actions = [_consent(flow, state, "declined", method, current.ask), *say_prompts(flow, state, ["consent_declined"])]
    return _run(flow, state.with_(consent="declined").visiting(current.declined), actions)


def _consent_answer(flow, state, event) -> tuple[str | None, str]:
    if isinstance(event, Digits):
        return {"1": "given", "2": "declined"}.get(event.digits), "dtmf"
    if isinstance(event, Speech):
        if _says_any(event.text, _word_list(flow, state, "words_no")):
            return "declined", "speech"
        if _says_any(event.text, _word_list(flow, state, "words_yes")):
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
        return _run(flow, state.visiting(give_up_to), [note, Note("gave_up", {"step": state.step})])
    lead = tuple(say_prompts(flow, state, [kind]))
    state, actions, _ = reenter(flow, state.with_(attempts=attempts, waiting=False), current, lead)
    return Outcome((note, *actions), state)


# -- small pieces ----------------------------------------------------------------------------------

def _gather(flow, state, keys, timeout: int, lead: tuple[Say, ...] = ()) -> Gather:
    lang = flow.language(state.language)
    speech = lang.speech if flow.cloud_speech and lang.speech else None
    return Gather(step=state.step, prompts=lead + tuple(say_prompts(flow, state, keys)), timeout=timeout,
                  speech_language=speech)


def say_prompts(flow: Flow, state: CallState, keys) -> list[Say]:
    """The prompts `keys` in the caller's language, with variables filled in."""
    lang = flow.language(state.language)
    return [Say(_render(flow, state, flow.prompt(lang.code, key)), lang.say, lang.voice) for key in keys]


def _consent(flow, state, outcome: str, method: str, keys) -> ConsentRecorded:
    words = "\n".join(flow.prompt(state.language, key) for key in keys)
    version = hashlib.sha256(words.encode()).hexdigest()[:12]
    return ConsentRecorded(outcome=outcome, method=method, policy=flow.consent, language=state.language,
                           prompt_keys=tuple(keys), prompt_version=version)


def _matches(when: Condition, state: CallState) -> bool:
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


class _Variables(dict):
    def __missing__(self, key):  # a prompt never crashes a live call; the linter reports unknown names
        return ""


def prompt_variables(flow: Flow, state: CallState, **extra: str) -> dict[str, str]:
    ticket = state.vars.get("ticket", "")
    return _Variables({**state.vars, "ticket_digits": ", ".join(ticket), "region_name": flow.name,
                       "help_centre": flow.help_centre, "support_email": flow.support_email, **extra})


def _render(flow: Flow, state: CallState, text: str, **extra: str) -> str:
    return string.Formatter().vformat(text, (), prompt_variables(flow, state, **extra))


def _word_list(flow, state, key: str) -> set[str]:
    return {w.strip().lower() for w in flow.prompts[state.language].get(key, "").split(",") if w.strip()}


def _says_any(text: str, phrases: set[str]) -> bool:
    """Whether `text` contains one of `phrases`: whole words in spaced scripts ("no" is not in
    "know"), anywhere in Chinese (no spaces: "不同意" holds "不"), and at a word start in Korean,
    whose particles attach to the word ("동의해요" starts with "동의")."""
    text = " ".join(text.lower().split())
    for phrase in phrases:
        if any("\u3400" <= ch <= "\u9fff" for ch in phrase):
            found = phrase in text
        elif phrase.isascii() or not any("\uac00" <= ch <= "\ud7a3" for ch in phrase):
            found = re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text) is not None
        else:
            found = re.search(rf"(?<!\w){re.escape(phrase)}", text) is not None
        if found:
            return True
    return False
