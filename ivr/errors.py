"""Every exception the project raises on purpose, named for what went wrong."""


class IvrError(Exception):
    """Base class: an error with a message meant for the operator."""


class SettingsError(IvrError):
    """A setting is missing or has a value that cannot be used."""


class FlowError(IvrError):
    """A flow file is invalid. The message names the file, the step and the problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class UnknownRegion(IvrError):
    """A dialed number belongs to no configured region."""


class SignatureError(IvrError):
    """A webhook's X-Twilio-Signature is missing or does not match."""


class EngineError(IvrError):
    """The flow engine was asked to do something the flow does not allow."""


class CallStateMissing(IvrError):
    """A webhook arrived for a call whose live state is gone (expired or never created)."""


class AudioToolMissing(IvrError, RuntimeError):
    """A program the emulator's audio needs (espeak-ng, sox) is not on PATH."""

    def __init__(self, program: str):
        self.program = program
        super().__init__(f"{program} is not installed (not found on PATH); "
                         f"install it with: apt-get install espeak-ng sox")


class AudioToolFailed(IvrError, RuntimeError):
    """espeak-ng or sox ran and failed; the message carries what it printed on stderr."""


class ScenarioError(IvrError):
    """A scenario file for `ivr call` is unreadable or malformed; the message names the file."""


class ModelMissing(IvrError):
    """No speech model is installed for a language; the message says how to install one."""


class ModelBroken(IvrError):
    """A speech model is there but vosk cannot use it; the message names the folder and the fix."""


class ModelInstallFailed(IvrError):
    """`ivr models install` could not fetch, verify or unpack a model; nothing was replaced."""


class MediaNotReady(IvrError):
    """Twilio does not have a recording's media (yet): 404. Worth asking again later."""


class MediaRefused(IvrError):
    """A recording's media could not be fetched or failed its checks; the message says why."""


class StorageError(IvrError):
    """The recordings store could not keep, read or delete a file (down, full, refused)."""


class AccessRefused(IvrError):
    """A QA reviewer asked for something their role or regions do not allow; `reason` says which."""

    def __init__(self, reason: str, target: str | None = None):
        self.reason, self.target = reason, target
        super().__init__(reason)


class UnknownCall(IvrError):
    """A QA page asked for a call that does not exist."""


class UnknownRecording(IvrError):
    """A QA page asked for a recording that does not exist, or whose audio is no longer kept."""


class RecordingRequestError(IvrError):
    """A legal hold or deletion asked for on the QA pages cannot be done as filled in."""


class SignInRefused(IvrError):
    """A QA sign-in failed: wrong name or password, a disabled user, or too many attempts."""

    def __init__(self, reason: str, retry_after: int | None = None):
        self.reason, self.retry_after = reason, retry_after
        super().__init__(reason)


class UserError(IvrError):
    """A QA user cannot be added or changed as asked (bad name, role, region or password)."""


class ScoreError(IvrError):
    """A scorecard cannot be saved as filled in; the message says which item and why."""


class FilterError(IvrError):
    """A search of calls has a filter that cannot be used; the message names it."""


class DiagramUnavailable(IvrError):
    """A flow cannot be drawn: Graphviz is missing, too slow, or the drawing is too large."""
