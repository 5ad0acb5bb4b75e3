"""flows: reading and checking the files a support team edits under flows/: the region files and
their prompts (`loader`), the checks across a flow's graph (`lint`), the on-call rota (`rota`),
the desks (`desks`) and the intent phrasebooks (`phrasebooks`). Every problem is reported as
"<file>: step '<name>': <problem>".

May import: ivr.core, ivr.errors; yaml, pydantic.
"""
