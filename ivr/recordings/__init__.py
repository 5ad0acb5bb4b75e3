"""recordings: a consented call's recording kept with its ticket. The ingest job (`ingest`:
fetch from Twilio, check, hash, transcribe, redact, encode, store, verify, delete at Twilio),
the stores (`storage`: a local folder or S3), transcripts with word timings (`transcripts`),
finding secrets in them (`redaction`, `vocabulary`) and toning them out of the audio (`audio`),
the encrypted original when kept (`originals`), retention, legal hold and deletion
(`retention`), the rows and timeline lines (`records`), and the recording webhook's hook (`effects`).

May import: ivr.speech (its Hearing service, for vosk models), ivr.calls (the timeline),
ivr.core, ivr.flows, ivr.db and the platform modules. ivr.speech and ivr.calls never import it.
"""
from __future__ import annotations

from ivr.recordings import effects, retention
from ivr.recordings.storage import Store, open_store
from ivr.runtime import Registry, Runtime


def includeme(registry: Registry) -> None:
    registry.service(Store, lambda rt: open_store(rt.settings))
    registry.recording_completed.add(effects.recording_completed)
    registry.worker_started.add(_keep_upkeep)
    registry.call_answered.add(_keep_upkeep)


def _keep_upkeep(rt: Runtime) -> None:
    retention.keep_upkeep(rt)
