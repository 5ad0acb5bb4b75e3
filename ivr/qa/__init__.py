"""qa: reviewing calls. Who may sign in and what their role and regions let them see (`users`,
`reviewers`, `passwords`, `signin`, `admin`); finding calls (`search`); one call as a reviewer reads
it (`review`, `timeline`, `facts`, the flow drawn with its path: `diagrams`) and hears it (its
recordings' audio and transcript, who hears what: `listening`); legal holds and deletion from the
pages (`holds`); scorecards on each region's rubric (`rubrics`, `checks`, `scores`); and the
hash-chained audit log of everything a reviewer does (`audit`, `audit_log`). The web pages
(ivr/web/qa/) and `ivr users`, `ivr audit` and `ivr flows draw` are thin edges over this package.

Sits above the other capabilities: it reads what they record (calls, tickets, the timeline, live
call state through ivr.calls), and none of them imports it. May import every capability below it,
ivr.core, ivr.flows, ivr.db and the platform modules.
"""
from __future__ import annotations

from ivr.qa.diagrams import FlowDrawings
from ivr.qa.passwords import Passwords
from ivr.qa.rubrics import Rubrics, load_rubrics
from ivr.qa.signin import ReviewSessions, SignInLimits, limits_from, sessions_from
from ivr.runtime import Registry, Runtime


def includeme(registry: Registry) -> None:
    registry.service(Passwords, lambda rt: Passwords())
    registry.service(SignInLimits, limits_from)
    registry.service(ReviewSessions, sessions_from)
    registry.service(Rubrics, lambda rt: load_rubrics(rt.settings.flows_dir, rt.flows))
    registry.service(FlowDrawings, lambda rt: FlowDrawings())
    registry.runtime_ready.add(_rubrics_checked)


def _rubrics_checked(rt: Runtime) -> None:
    """A rubric that fails its check stops the process at start, like a bad flow."""
    rt.service(Rubrics)
