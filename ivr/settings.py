"""The one settings object, read from the environment once and passed down."""
from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from ivr.clock import clock_from
from ivr.errors import SettingsError
from ivr.sids import is_sid

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    twilio_account_sid: str
    twilio_auth_token: str
    public_url: str
    redis_url: str
    database_url: str
    flows_dir: Path
    recordings_dir: Path
    twilio_api_url: str | None = None
    redis_sentinels: str | None = None  # host:port,host:port: find the Redis master through Sentinel
    redis_sentinel_master: str = "mymaster"  # the master's name in the sentinels' configuration
    call_state_ttl: int = 4 * 3600
    ticket_join_hours: int = 24
    writer_batch: int = 200  # records entries the writer commits in one transaction (ivr/calls/writer.py)
    writer_stream_cap: int = 200_000  # unwritten entries Redis holds before webhooks write their records directly
    writer_claim_seconds: int = 30  # a dead writer's unacknowledged entries are claimed after this idle time
    writer_max_lag: int = 30  # /readyz says not ready while the oldest unwritten entry is older (seconds)
    log_level: str = "INFO"
    bind: str = "0.0.0.0:8000"
    web_workers: int = 2
    stream_slots: int = 16  # media streams one web worker holds at once, on threads of their own (more: refused)
    pager_url: str | None = None  # the security team's paging webhook (urgent calls nobody took)
    pager_secret: str | None = None  # signs pager and freeze webhooks; bearer token for acknowledging pages
    pager_sms_from: str | None = None  # a Twilio number: also text the on-call people
    pager_ack_seconds: int = 300  # unacknowledged this long: escalate
    retry_base_seconds: int = 5  # first retry of a failed page or freeze webhook; later ones back off
    freeze_url: str | None = None  # the account system's freeze-request webhook
    freeze_secret: str | None = None
    speech_path: str = "stream"  # how a language with a vosk model is heard: stream (Media Streams) or record
    speech_grammar: frozenset[str] = frozenset({"ko"})  # languages recognised with a closed phrase grammar
    speech_end_ms: int = 300  # quiet after speech that ends the caller's description
    callback_max_attempts: int = 3  # calls placed for one call back before it counts as failed
    callback_retry_seconds: int = 600  # wait before the 2nd attempt; then twice as long each time (within hours)
    callback_ring_seconds: int = 30  # how long a call back rings
    callback_amd: str = "sync"  # answering machine detection: sync (on the call's URL request) or async
    callback_reconcile_seconds: int = 60  # how often workers check the database against RQ's jobs
    ops_token: str | None = None  # bearer token for the desk API (/ops/desks); unset: the API is off
    job_timeout: int = 30  # seconds a background job may run; one whose worker died is retried this + 5 s later
    recordings_url: str | None = None  # s3://bucket/prefix: keep recordings in S3-compatible storage, not the folder
    recordings_s3_sse: str = "AES256"  # server-side encryption asked of S3: AES256, aws:kms or none
    recordings_delete_at_twilio: bool = True  # delete Twilio's copy once ours is stored and verified
    recordings_max_mb: int = 512  # the largest recording download accepted
    recordings_job_timeout: int = 3600  # seconds an ingest (download, transcripts, redaction, store) may run
    recordings_retry_seconds: int = 30  # first retry of an ingest (media not ready, storage down); then backs off
    recordings_original_key: str | None = None  # base64 AES-256 key: keep the unredacted audio, encrypted
    clock: str = "system"  # IVR_CLOCK: system, fixed:<ISO time> or file:<path> (see ivr/clock.py)
    secret_key: str | None = None  # signs the QA pages' session cookies; unset: the QA pages are off
    session_cookie_secure: bool = True  # the session cookie only travels over HTTPS (false: local http)
    session_idle_minutes: int = 30  # a QA session unused this long ends (on the runtime's clock)
    session_max_hours: int = 12  # and any QA session ends this long after signing in
    signin_max_failures: int = 5  # failed sign-ins for one user within the window before it is refused
    signin_ip_max_failures: int = 20  # failed sign-ins from one address within the window
    signin_window_minutes: int = 15
    audit_key: str | None = None  # HMAC key for the audit log's hash chain (unset: plain SHA-256)
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def public_base(self) -> str:
        return self.public_url.rstrip("/")

    def url_for(self, path: str) -> str:
        """The absolute URL Twilio is given for one of our routes."""
        return f"{self.public_base}{path}"

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            twilio_account_sid=_account_sid(env),
            twilio_auth_token=_auth_token(env),
            public_url=_http_url(env, "IVR_PUBLIC_URL", "http://127.0.0.1:8000"),
            redis_url=_redis_url(env),
            database_url=env.get("IVR_DATABASE_URL") or f"sqlite:///{PROJECT_ROOT / 'var' / 'ivr.db'}",
            flows_dir=_directory(env, "IVR_FLOWS_DIR", PROJECT_ROOT / "flows"),
            recordings_dir=Path(env.get("IVR_RECORDINGS_DIR") or PROJECT_ROOT / "recordings"),
            twilio_api_url=_optional_http_url(env, "IVR_TWILIO_API_URL"),
            redis_sentinels=_sentinels(env),
            redis_sentinel_master=_name(env, "IVR_REDIS_SENTINEL_MASTER", "mymaster"),
            call_state_ttl=_positive_int(env, "IVR_CALL_STATE_TTL", 4 * 3600),
            ticket_join_hours=_positive_int(env, "IVR_TICKET_JOIN_HOURS", 24),
            writer_batch=_positive_int(env, "IVR_WRITER_BATCH", 200),
            writer_stream_cap=_positive_int(env, "IVR_WRITER_STREAM_CAP", 200_000),
            writer_claim_seconds=_positive_int(env, "IVR_WRITER_CLAIM_SECONDS", 30),
            writer_max_lag=_positive_int(env, "IVR_WRITER_MAX_LAG", 30),
            log_level=_choice(env, "IVR_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
            bind=_bind(env),
            web_workers=_positive_int(env, "IVR_WEB_WORKERS", 2),
            stream_slots=_positive_int(env, "IVR_STREAM_SLOTS", 16),
            pager_url=_webhook_url(env, "IVR_PAGER_URL", "IVR_PAGER_SECRET"),
            pager_secret=_webhook_secret(env, "IVR_PAGER_SECRET"),
            pager_sms_from=_optional_e164(env, "IVR_PAGER_SMS_FROM"),
            pager_ack_seconds=_positive_int(env, "IVR_PAGER_ACK_SECONDS", 300),
            retry_base_seconds=_positive_int(env, "IVR_RETRY_BASE_SECONDS", 5),
            freeze_url=_webhook_url(env, "IVR_FREEZE_URL", "IVR_FREEZE_SECRET"),
            freeze_secret=_webhook_secret(env, "IVR_FREEZE_SECRET"),
            speech_path=_choice(env, "IVR_SPEECH_PATH", "stream", ("STREAM", "RECORD")).lower(),
            speech_grammar=frozenset(x.strip() for x in (env.get("IVR_SPEECH_GRAMMAR", "ko")).split(",") if x.strip()),
            speech_end_ms=_positive_int(env, "IVR_SPEECH_END_MS", 300),
            callback_max_attempts=_positive_int(env, "IVR_CALLBACK_MAX_ATTEMPTS", 3),
            callback_retry_seconds=_positive_int(env, "IVR_CALLBACK_RETRY_SECONDS", 600),
            callback_ring_seconds=_positive_int(env, "IVR_CALLBACK_RING_SECONDS", 30),
            callback_amd=_choice(env, "IVR_CALLBACK_AMD", "sync", ("SYNC", "ASYNC")).lower(),
            callback_reconcile_seconds=_positive_int(env, "IVR_CALLBACK_RECONCILE_SECONDS", 60),
            ops_token=env.get("IVR_OPS_TOKEN") or None,
            job_timeout=_positive_int(env, "IVR_JOB_TIMEOUT", 30),
            recordings_url=_s3_url(env),
            recordings_s3_sse=_choice(env, "IVR_RECORDINGS_S3_SSE", "AES256", ("AES256", "AWS:KMS", "NONE")
                                      ).replace("AWS:KMS", "aws:kms").replace("NONE", "none"),
            recordings_delete_at_twilio=_boolean(env, "IVR_RECORDINGS_DELETE_AT_TWILIO", True),
            recordings_max_mb=_positive_int(env, "IVR_RECORDINGS_MAX_MB", 512),
            recordings_job_timeout=_positive_int(env, "IVR_RECORDINGS_JOB_TIMEOUT", 3600),
            recordings_retry_seconds=_positive_int(env, "IVR_RECORDINGS_RETRY_SECONDS", 30),
            recordings_original_key=_aes_key(env, "IVR_RECORDINGS_ORIGINAL_KEY"),
            clock=_clock(env),
            secret_key=_secret(env, "IVR_SECRET_KEY"),
            session_cookie_secure=_boolean(env, "IVR_SESSION_COOKIE_SECURE", True),
            session_idle_minutes=_positive_int(env, "IVR_SESSION_IDLE_MINUTES", 30),
            session_max_hours=_positive_int(env, "IVR_SESSION_MAX_HOURS", 12),
            signin_max_failures=_positive_int(env, "IVR_SIGNIN_MAX_FAILURES", 5),
            signin_ip_max_failures=_positive_int(env, "IVR_SIGNIN_IP_MAX_FAILURES", 20),
            signin_window_minutes=_positive_int(env, "IVR_SIGNIN_WINDOW_MINUTES", 15),
            audit_key=_secret(env, "IVR_AUDIT_KEY"),
        )

    def to_env(self) -> dict[str, str]:
        """These settings as environment variables: what another process of the service (a job
        worker, the CLI) needs to be given to build the same runtime."""
        env = {}
        for name, variable in ENV_NAMES.items():
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, frozenset):
                env[variable] = ",".join(sorted(value))
            elif isinstance(value, bool):
                env[variable] = "true" if value else "false"
            else:
                env[variable] = str(value)
        env["IVR_SPEECH_PATH"] = self.speech_path.upper()
        env["IVR_CALLBACK_AMD"] = self.callback_amd.upper()
        return env


ENV_NAMES = {
    "twilio_account_sid": "TWILIO_ACCOUNT_SID", "twilio_auth_token": "TWILIO_AUTH_TOKEN",
    "public_url": "IVR_PUBLIC_URL", "redis_url": "IVR_REDIS_URL", "database_url": "IVR_DATABASE_URL",
    "flows_dir": "IVR_FLOWS_DIR", "recordings_dir": "IVR_RECORDINGS_DIR", "twilio_api_url": "IVR_TWILIO_API_URL",
    "redis_sentinels": "IVR_REDIS_SENTINELS", "redis_sentinel_master": "IVR_REDIS_SENTINEL_MASTER",
    "call_state_ttl": "IVR_CALL_STATE_TTL", "ticket_join_hours": "IVR_TICKET_JOIN_HOURS",
    "writer_batch": "IVR_WRITER_BATCH", "writer_stream_cap": "IVR_WRITER_STREAM_CAP",
    "writer_claim_seconds": "IVR_WRITER_CLAIM_SECONDS", "writer_max_lag": "IVR_WRITER_MAX_LAG",
    "log_level": "IVR_LOG_LEVEL", "bind": "IVR_BIND", "web_workers": "IVR_WEB_WORKERS",
    "stream_slots": "IVR_STREAM_SLOTS",
    "pager_url": "IVR_PAGER_URL", "pager_secret": "IVR_PAGER_SECRET", "pager_sms_from": "IVR_PAGER_SMS_FROM",
    "pager_ack_seconds": "IVR_PAGER_ACK_SECONDS", "retry_base_seconds": "IVR_RETRY_BASE_SECONDS",
    "freeze_url": "IVR_FREEZE_URL", "freeze_secret": "IVR_FREEZE_SECRET", "speech_path": "IVR_SPEECH_PATH",
    "speech_grammar": "IVR_SPEECH_GRAMMAR", "speech_end_ms": "IVR_SPEECH_END_MS",
    "callback_max_attempts": "IVR_CALLBACK_MAX_ATTEMPTS", "callback_retry_seconds": "IVR_CALLBACK_RETRY_SECONDS",
    "callback_ring_seconds": "IVR_CALLBACK_RING_SECONDS", "callback_amd": "IVR_CALLBACK_AMD",
    "callback_reconcile_seconds": "IVR_CALLBACK_RECONCILE_SECONDS", "ops_token": "IVR_OPS_TOKEN",
    "job_timeout": "IVR_JOB_TIMEOUT", "clock": "IVR_CLOCK",
    "recordings_url": "IVR_RECORDINGS_URL", "recordings_s3_sse": "IVR_RECORDINGS_S3_SSE",
    "recordings_delete_at_twilio": "IVR_RECORDINGS_DELETE_AT_TWILIO", "recordings_max_mb": "IVR_RECORDINGS_MAX_MB",
    "recordings_job_timeout": "IVR_RECORDINGS_JOB_TIMEOUT",
    "recordings_retry_seconds": "IVR_RECORDINGS_RETRY_SECONDS",
    "recordings_original_key": "IVR_RECORDINGS_ORIGINAL_KEY",
    "secret_key": "IVR_SECRET_KEY",
    "session_cookie_secure": "IVR_SESSION_COOKIE_SECURE", "session_idle_minutes": "IVR_SESSION_IDLE_MINUTES",
    "session_max_hours": "IVR_SESSION_MAX_HOURS", "signin_max_failures": "IVR_SIGNIN_MAX_FAILURES",
    "signin_ip_max_failures": "IVR_SIGNIN_IP_MAX_FAILURES", "signin_window_minutes": "IVR_SIGNIN_WINDOW_MINUTES",
    "audit_key": "IVR_AUDIT_KEY",
}

MIN_SECRET = 32  # characters: a secret shorter than this is refused (serve.sh generates 64 hex digits)


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} is not set")
    return value


def _account_sid(env: Mapping[str, str]) -> str:
    value = _required(env, "TWILIO_ACCOUNT_SID")
    if not is_sid(value, "AC"):
        raise SettingsError(f"TWILIO_ACCOUNT_SID must be 'AC' followed by 32 hex digits, got {value[:40]!r}")
    return value


LOOPBACK = ("127.0.0.1", "localhost", "::1")
MIN_AUTH_TOKEN = 32  # Twilio's auth tokens are 32 hex digits
MIN_WEBHOOK_SECRET = 12  # signs what we post to the pager and the account system
PLACEHOLDER_WORDS = ("your_", "your-", "change", "placeholder", "example", "xxxx", "dummy")
PLACEHOLDERS = {"secret", "password", "token", "auth_token", "authtoken", "test", "none", "null"}


def emulated(env: Mapping[str, str]) -> bool:
    """Whether these settings drive the local emulator (IVR_TWILIO_API_URL on this machine), not Twilio."""
    url = env.get("IVR_TWILIO_API_URL") or ""
    return bool(url) and urlsplit(url).hostname in LOOPBACK


def _looks_like_placeholder(value: str) -> bool:
    """An example value (.env.example's `your_auth_token`, `change-me`), a bare word, or one character repeated."""
    lowered = value.lower()
    return lowered in PLACEHOLDERS or any(word in lowered for word in PLACEHOLDER_WORDS) or len(set(lowered)) == 1


def _auth_token(env: Mapping[str, str]) -> str:
    """The account's auth token: every webhook signature is checked with it, so an example value or a
    short one (forgeable by anyone who read .env.example) is refused unless the emulator is in use."""
    value = _required(env, "TWILIO_AUTH_TOKEN")
    if emulated(env):
        return value
    if _looks_like_placeholder(value):
        raise SettingsError("TWILIO_AUTH_TOKEN is a placeholder (as in .env.example): set your account's auth token "
                            "(Twilio console, Account info)")
    if len(value) < MIN_AUTH_TOKEN:
        raise SettingsError(f"TWILIO_AUTH_TOKEN must be your account's {MIN_AUTH_TOKEN}-character auth token, "
                            f"got {len(value)} characters")
    return value


def _webhook_url(env: Mapping[str, str], name: str, secret_name: str) -> str | None:
    """A webhook to another system (pager, account system): HTTPS unless it is on this machine, and
    never without its signing secret, so the receiver can tell our posts from a forgery."""
    value = _optional_http_url(env, name)
    if value is None:
        return None
    if urlsplit(value).scheme != "https" and urlsplit(value).hostname not in LOOPBACK:
        raise SettingsError(f"{name} must be an https:// URL (plain http only to this machine), got {value!r}")
    if not (env.get(secret_name) or "").strip():
        raise SettingsError(f"{name} is set but {secret_name} is not: the webhook would go unsigned")
    return value


def _webhook_secret(env: Mapping[str, str], name: str) -> str | None:
    value = (env.get(name) or "").strip() or None
    if value is not None and (_looks_like_placeholder(value) or len(value) < MIN_WEBHOOK_SECRET):
        raise SettingsError(f"{name} must be a random secret of at least {MIN_WEBHOOK_SECRET} characters "
                            "(`openssl rand -hex 32`), not a placeholder")
    return value


def _http_url(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name) or default
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise SettingsError(f"{name} must be an http(s) base URL without query, got {value!r}")
    return value.rstrip("/")


def _optional_http_url(env: Mapping[str, str], name: str) -> str | None:
    return _http_url(env, name, "") if env.get(name) else None


def _redis_url(env: Mapping[str, str]) -> str:
    value = env.get("IVR_REDIS_URL") or "redis://127.0.0.1:6379/0"
    if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
        raise SettingsError(f"IVR_REDIS_URL must be a redis://, rediss:// or unix:// URL, got {value!r}")
    return value


def _sentinels(env: Mapping[str, str]) -> str | None:
    value = (env.get("IVR_REDIS_SENTINELS") or "").strip()
    if not value:
        return None
    for item in value.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise SettingsError(f"IVR_REDIS_SENTINELS must be host:port pairs separated by commas, like "
                                f"10.0.0.1:26379,10.0.0.2:26379, got {value!r}")
    return value


def _name(env: Mapping[str, str], name: str, default: str) -> str:
    value = (env.get(name) or default).strip()
    if not value or not all(c.isalnum() or c in "._-" for c in value):
        raise SettingsError(f"{name} must be a name of letters, digits, '.', '_' or '-', got {value!r}")
    return value


def _directory(env: Mapping[str, str], name: str, default: Path) -> Path:
    path = Path(env.get(name) or default)
    if not path.is_dir():
        raise SettingsError(f"{name} must be an existing directory, got {str(path)!r}")
    return path


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {raw!r}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (env.get(name) or default).upper()
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {env.get(name)!r}")
    return value


def _optional_e164(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if not value:
        return None
    if not (value.startswith("+") and value[1:].isdigit() and 8 <= len(value) <= 16):
        raise SettingsError(f"{name} must be a phone number in E.164 form like +14155550100, got {value!r}")
    return value


def _boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {env.get(name)!r}")


def _secret(env: Mapping[str, str], name: str) -> str | None:
    value = (env.get(name) or "").strip()
    if not value:
        return None
    if len(value) < MIN_SECRET:
        raise SettingsError(f"{name} must be at least {MIN_SECRET} characters (e.g. `openssl rand -hex 32`), "
                            f"got {len(value)}")
    return value


def _clock(env: Mapping[str, str]) -> str:
    value = env.get("IVR_CLOCK") or "system"
    clock_from(value)  # raises SettingsError naming the problem
    return value


def _s3_url(env: Mapping[str, str]) -> str | None:
    value = env.get("IVR_RECORDINGS_URL") or None
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise SettingsError(f"IVR_RECORDINGS_URL must look like s3://bucket/prefix, got {value!r}")
    return value.rstrip("/")


def _aes_key(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name) or None
    if value is None:
        return None
    try:
        key = base64.b64decode(value, validate=True)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise SettingsError(f"{name} must be 32 random bytes in base64 (e.g. `openssl rand -base64 32`)")
    return value


def _bind(env: Mapping[str, str]) -> str:
    value = env.get("IVR_BIND") or "0.0.0.0:8000"
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(f"IVR_BIND must be host:port like 0.0.0.0:8000, got {value!r}")
    return value
