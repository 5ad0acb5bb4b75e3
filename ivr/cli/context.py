"""What every `ivr` command starts from: the settings, and the runtime built by the one factory
(so a command reads the time from IVR_CLOCK like the web app and the workers). Problems become one
clean line, not a traceback."""
from __future__ import annotations

import click

from ivr.errors import FlowError, IvrError
from ivr.factory import build_runtime
from ivr.runtime import Runtime
from ivr.settings import Settings


def settings() -> Settings:
    try:
        return Settings.from_env()
    except IvrError as exc:
        raise click.ClickException(str(exc)) from None


def runtime() -> Runtime:
    configured = settings()
    try:
        return build_runtime(configured)
    except FlowError as exc:
        raise click.ClickException("the flows fail the check (see `ivr flows check`):\n" + str(exc)) from None
    except IvrError as exc:
        raise click.ClickException(str(exc)) from None
