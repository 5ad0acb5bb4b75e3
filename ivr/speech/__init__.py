"""speech: hearing callers offline. The speech service (`hearing`: which way a language is heard,
phrasebook intents), a media stream's listener (`listener`), urgency heard at every question
through one stream per call (`urgency`, `urgency_listener`), vosk recognisers (`recognizer`),
intent matching (`intent`), what was heard turned into the engine's event (`listen_results`),
installed models (`voice_models`) and installing them (`model_install`).

May import: ivr.calls, ivr.core, ivr.flows, ivr.audio and the platform modules; no other capability.
"""
from __future__ import annotations

import logging

from ivr.core.actions import Listen
from ivr.errors import FlowError
from ivr.runtime import Registry, Runtime
from ivr.speech import effects, urgency
from ivr.speech.hearing import Hearing

log = logging.getLogger(__name__)


def includeme(registry: Registry) -> None:
    registry.service(Hearing, lambda rt: Hearing(rt.settings, rt.flows.phrasebooks))
    registry.effect(Listen, effects.hear)
    registry.reply_ready.add(urgency.follow_the_call)
    registry.call_ended.add(urgency.forget)
    registry.serving.add(_check_models)


def _check_models(rt: Runtime) -> None:
    """A broken model is a start-up error, never a crash mid-call; loaded now, the first caller does not wait.
    A region listening for urgency in a language no model hears takes keys only there: said once, here."""
    hearing = rt.service(Hearing)
    problems = hearing.check(rt.flows)
    if problems:
        raise FlowError(problems)
    for flow in rt.flows:
        for language in flow.language_codes:
            if flow.urgency_stream and hearing.mode(flow, language) != "stream":
                log.warning("%s: urgency_stream is set, but no vosk model hears '%s' by stream here: its questions "
                            "take keys only in that language (9 still works)", flow.source, language)
