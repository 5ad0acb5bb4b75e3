"""Calls beyond the caller's own leg: <Dial> to agents (with whisper), <Enqueue>, and calls the app
places through the REST API (a callback to a customer).

A `session` here is the interpreter's running call (`ivr.emulator.interpreter.Session`). A new leg
needs a session of its own: the caller passes in `open_session`, the class (or any factory taking
the same arguments) that makes one, so this module never imports the interpreter that uses it.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urljoin

from ivr.emulator.calls import EmulatedCall
from ivr.emulator.queues import Bridge
from ivr.emulator.script import HangUp, Press
from ivr.emulator.sids import new_sid
from ivr.emulator.twiml_doc import Jump, parse_xml

WHISPER_DOCUMENTS = 10  # a whisper that asks more often than this is treated as the agent hanging up


def dial(session, verb, url: str, open_session: Callable) -> Jump | None:
    """Ring each <Number> (in order; the first to answer and accept wins) and bridge the caller;
    each agent's leg runs in a session made by `open_session`."""
    call, twilio = session.call, session.twilio
    numbers = [child for child in verb if child.tag == "Number"]
    if not numbers and (verb.text or "").strip():
        numbers = [verb]  # <Dial>+15551234567</Dial>
    for child in verb:
        if child.tag not in ("Number", "Queue"):
            session.hear("warning", f"<Dial><{child.tag}> is not emulated yet")
    queues = [child for child in verb if child.tag == "Queue"]
    if queues:
        return dial_queue(session, verb, queues[0])
    ring_limit = int(verb.get("timeout", "30"))
    caller_id = verb.get("callerId") or call.from_
    outcomes: list[str] = []
    bridged = None
    for number in numbers:
        target = (number.text or "").strip()
        behaviour = twilio.next_behaviour(target)
        leg = EmulatedCall(sid=new_sid("CA"), to=target, from_=caller_id, direction="outbound-dial",
                           parent_sid=call.sid, status="initiated")
        call.legs.append(leg)
        session.hear("dial", f"ringing {target}")
        leg_session = open_session(twilio, leg, [Press(k) for k in behaviour.presses], then="silence",
                                   status_callback=number.get("statusCallback"),
                                   callback_events=tuple(number.get("statusCallbackEvent", "completed").split()))
        leg_session.status_event("initiated", "initiated")
        leg_session.status_event("ringing", "ringing")
        if behaviour.answer not in ("answer", "machine"):  # a machine answers like a silent person
            session.advance(1 if behaviour.answer == "busy" else ring_limit)
            leg.status, leg.ended_by = behaviour.answer, "not-answered"
            session.hear("dial", f"{target}: {behaviour.answer}")
            leg_session.end()
            outcomes.append(behaviour.answer)
            continue
        leg.status = "in-progress"
        session.advance(5)
        leg_session.status_event("answered", "in-progress")
        accepted = _whisper(leg_session, number)
        if not accepted:
            leg_session.end()
            session.hear("dial", f"{target}: answered, did not accept")
            outcomes.append(session.options.whisper_hangup_status)
            continue
        session.hear("dial", f"{target}: connected")
        call.bridged_to.append(target)
        session.advance(behaviour.talk_seconds)
        leg.seconds = behaviour.talk_seconds
        leg_session.end()
        bridged = leg
        break
    if bridged is not None:
        params = {"DialCallStatus": "completed", "DialCallSid": bridged.sid,
                  "DialCallDuration": str(int(bridged.seconds)), "DialBridged": "true"}
    else:
        status = "busy" if outcomes and all(o == "busy" for o in outcomes) else \
            ("no-answer" if outcomes else "failed")
        params = {"DialCallStatus": status, "DialCallDuration": "0", "DialBridged": "false"}
        if call.legs:
            params["DialCallSid"] = call.legs[-1].sid
    if verb.get("action"):
        return Jump(verb.get("action"), verb.get("method", "POST"), params)
    return None


def dial_queue(session, verb, queue) -> Jump | None:
    """<Dial><Queue>: take the caller at the front of the queue and talk (the agent's own talk time).
    An empty queue is waited on, as Twilio does until `<Dial timeout>`: here for as long as another
    call of the account is still live and so may yet join it (its session runs on its own thread,
    as fast or slow as the machine is), with a real-time bound against a test that never ends.
    The caller's <Enqueue> picks the bridge up (see `enqueue`)."""
    call, twilio = session.call, session.twilio
    name = (queue.text or "").strip()
    talk = getattr(session, "behaviour", None)
    bridge = Bridge(call.to, call.sid, call.created_wall, call.seconds, talk.talk_seconds if talk else 60,
                    at=call.now if call.offset else None)
    deadline = time.monotonic() + session.options.dequeue_wait
    caller = twilio.queues.take_front(name, bridge)
    while caller is None and call.status == "in-progress" and time.monotonic() < deadline \
            and twilio.live_besides(call.sid):
        time.sleep(0.02)
        caller = twilio.queues.take_front(name, bridge)
    if caller is None:
        session.advance(int(verb.get("timeout", "30")))
        session.hear("dial", f"queue {name}: nobody waiting")
        params = {"DialCallStatus": "no-answer", "DialCallDuration": "0", "DialBridged": "false"}
    else:
        session.hear("dial", f"queue {name}: connected to {caller}")
        while not bridge.taken.wait(0.05) and time.monotonic() < deadline and twilio.is_live(caller):
            pass
        session.advance(bridge.talk_seconds)
        params = {"DialCallStatus": "completed", "DialCallSid": caller, "DialBridged": "true",
                  "DialCallDuration": str(int(bridge.talk_seconds)), "QueueSid": twilio.queues.join_sid(name)}
    if verb.get("action"):
        return Jump(verb.get("action"), verb.get("method", "POST"), params)
    return None


def _bridged(session, bridge: Bridge, name: str) -> None:
    """The caller waiting in `name` is put through to the call that took them: at the caller's own
    time when that call had got so far (it was created while the app answered one of this call's
    webhooks), and talks for as long as it does."""
    call = session.call
    due = bridge.at - call.offset if bridge.at is not None else call.seconds_at(bridge.ring_wall) + bridge.after
    if due > call.seconds:
        session.advance(due - call.seconds)
    session.hear("dial", f"{bridge.number}: connected (from queue {name})")
    call.bridged_to.append(bridge.number)
    bridge.taken.set()
    session.advance(bridge.talk_seconds)


def _whisper(leg, number) -> bool:
    """Run the <Number url> TwiML on the agent's phone: True when it ends by running out of verbs
    (the agent is bridged), False when it hangs up on them."""
    whisper_url = number.get("url")
    if not whisper_url:
        return True
    leg.call.status = "in-progress"
    document, url = leg.fetch(whisper_url, number.get("method", "POST"))
    for _ in range(WHISPER_DOCUMENTS):
        if document is None or leg.call.status != "in-progress":
            break
        jump = leg.execute(document, url)
        if jump is None:
            return leg.call.ended_by == "no-more-verbs"
        document, url = leg.follow(jump, url)
    leg.end_as("ivr-hangup")
    return False


def enqueue(session, verb, url: str) -> Jump | None:
    """Hold the caller in a queue, looping the wait music, until they are redirected (REST update),
    leave (<Leave>), or hang up; then tell `action` why they left."""
    twilio, call = session.twilio, session.call
    name = (verb.text or "").strip()
    queue_sid = twilio.queues.join(name, call.sid)
    wait_url = verb.get("waitUrl")
    session.hear("queue", f"waiting in queue {name}")
    started, result = call.seconds, None
    try:
        for _ in range(session.options.max_queue_loops):
            due = twilio.ledger.pending_due(call.sid)
            if due is not None and due > call.now:  # a REST update made at a later moment: wait for it
                session.advance(due - call.now)
            bridge = twilio.queues.bridge_for(call.sid)
            if bridge is not None:
                _bridged(session, bridge, name)
                result = "bridged"
                break
            jump = session.rest_update()
            if jump is not None:
                session.hear("queue", f"left queue {name}: redirected")
                return jump
            if call.status != "in-progress":
                result = "hangup"
                break
            if wait_url:
                result = _hold(session, urljoin(url, wait_url), verb.get("waitUrlMethod", "POST"), name, queue_sid,
                               started)
            else:
                session.advance(10)
            if result:
                break
            if session.script and isinstance(session.script[0], HangUp):
                session.script.pop(0)
                session.caller_hangs_up()
                result = "hangup"
                break
            time.sleep(session.options.queue_poll)
        else:
            session.hear("caller", "gives up waiting")
            session.caller_hangs_up()
            result = "hangup"
    finally:
        twilio.queues.leave(name, call.sid)
    session.hear("queue", f"left queue {name}: {result}")
    params = {"QueueResult": result, "QueueSid": queue_sid, "QueueTime": str(int(call.seconds - started))}
    action = verb.get("action")
    if not action:
        return None
    if result == "hangup":  # the caller is gone; Twilio still reports it, and ignores the answer
        session.post(urljoin(url, action), {**session.base_params("completed"), **params}, verb.get("method", "POST"))
        return None
    return Jump(action, verb.get("method", "POST"), params)


def _hold(session, wait_url: str, method: str, name: str, queue_sid: str, started: float) -> str | None:
    """One pass of the wait music. Returns why the caller left the queue, or None to keep waiting."""
    twilio, call = session.twilio, session.call
    position, size = twilio.queues.position(name, call.sid)
    extra = {"QueuePosition": str(position), "QueueSid": queue_sid, "QueueTime": str(int(call.seconds - started)),
             "AvgQueueTime": "0", "CurrentQueueSize": str(size), "MaxQueueSize": "1000"}
    document, doc_url = session.fetch(wait_url, method, extra)
    if document is None:
        return "system-error"
    for verb in document:
        if call.status != "in-progress":
            return "hangup"
        if twilio.queues.bridged(call.sid):
            return None  # taken from the queue: the loop puts them through
        if verb.tag == "Leave":
            return "leave"
        if verb.tag == "Redirect":
            return None  # back to the top of the wait music
        if verb.tag not in ("Play", "Say", "Pause", "Gather", "Hangup"):
            session.hear("warning", f"<{verb.tag}> is not allowed in a queue's wait music; skipped")
            continue
        jump = getattr(session, f"verb_{verb.tag.lower()}")(verb, doc_url)
        if jump is not None:  # a <Gather> in the wait music was answered: its action takes the call
            document, doc_url = session.follow(jump, doc_url)
            session.run_documents(document, doc_url)
            return "redirected"
    return "hangup" if call.status != "in-progress" else None


def run_outbound(twilio, entry, form: dict, open_session: Callable) -> None:
    """A REST-created call: ring the callee; if they (or their answering machine) answer, run the
    call's TwiML with their script, in a session made by `open_session`. With `MachineDetection`,
    Twilio tells the app who answered: `AnsweredBy` on the Url request, or, with `AsyncAmd`, in a
    request to `AsyncAmdStatusCallback`."""
    behaviour = twilio.next_behaviour(entry.to)
    call = EmulatedCall(sid=entry.sid, to=entry.to, from_=entry.from_, direction="outbound-api", status="queued",
                        created_wall=entry.created_wall, offset=entry.start or 0.0)
    twilio.outbound.append(call)
    events = tuple(form.get("StatusCallbackEvent") or ["completed"])
    events = tuple(e for event in events for e in event.split())
    session = open_session(twilio, call, [Press(k) for k in behaviour.presses], then="silence",
                           fallback_url=form.get("FallbackUrl"), status_callback=form.get("StatusCallback"),
                           callback_events=events)
    session.behaviour = behaviour
    session.status_event("initiated", "initiated")
    entry.status = "ringing"
    session.status_event("ringing", "ringing")
    if behaviour.answer not in ("answer", "machine"):
        session.advance(1 if behaviour.answer == "busy" else int(form.get("Timeout") or 60))  # Twilio's default
        call.status, call.ended_by = behaviour.answer, "not-answered"
        entry.status = behaviour.answer
        session.hear("ringing", f"{entry.to}: {behaviour.answer}")
        session.end()
        return
    call.status = entry.status = "in-progress"
    detection = _machine_detection(session, entry, form, behaviour)
    session.status_event("answered", "in-progress")
    twilio.register(call.sid, session)
    try:
        if form.get("Twiml"):
            session.run_documents(*_inline(session, form["Twiml"]))
        else:
            sync = detection if detection and form.get("AsyncAmd") != "true" else {}
            document, url = session.fetch(form["Url"], form.get("Method", "POST"), sync)
            if detection and form.get("AsyncAmd") == "true" and form.get("AsyncAmdStatusCallback"):
                session.post(form["AsyncAmdStatusCallback"], {**session.base_params("in-progress"), **detection},
                             form.get("AsyncAmdStatusCallbackMethod", "POST"))
            session.run_documents(document, url)
    finally:
        twilio.unregister(call.sid)
        if detection:
            session.extra["AnsweredBy"] = detection["AnsweredBy"]  # real completed callbacks carry it too
        session.end()


MACHINE_ANSWERS = {"Enable": "machine_start", "DetectMessageEnd": "machine_end_beep"}


def _machine_detection(session, entry, form: dict, behaviour) -> dict[str, str]:
    """What answering machine detection reports, when the call asked for it."""
    mode = form.get("MachineDetection")
    if mode not in MACHINE_ANSWERS:
        return {}
    machine = behaviour.answer == "machine"
    answered_by = MACHINE_ANSWERS[mode] if machine else "human"
    entry.answered_by = answered_by
    session.advance(3.5 if machine else 2.0)
    session.hear("amd", f"answered by {answered_by}")
    return {"AnsweredBy": answered_by, "MachineDetectionDuration": "3500" if machine else "2000"}


def _inline(session, twiml: str):
    try:
        return parse_xml(twiml), ""
    except ValueError:
        return session.fail(12100, "Twiml")

