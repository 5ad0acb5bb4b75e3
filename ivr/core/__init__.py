"""core: the pure flow engine. Given a region's flow, a call's state, an event and the time, it
returns what to do next and the new state: `engine.step(flow, state, event, now) -> Outcome`.
Plain data in and out (`flow`, `steps`, `state`, `events`, `actions`); opening hours and holidays
(`hours`), call back number checks (`callback_numbers`) and single-value checks (`checks`).

May import: ivr.errors, the standard library, pydantic, phonenumbers, holidays. Never Flask,
Redis, SQLAlchemy, RQ, twilio, requests or vosk (an import contract in pyproject.toml checks it).
"""
