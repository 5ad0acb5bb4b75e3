#!/usr/bin/env bash
# Start the whole service on embedded defaults: SQLite, local recordings/, and a local Redis
# (started here, with an append-only file) unless IVR_REDIS_URL points at one. Idempotent.
source "$(dirname "$0")/setup.sh"

if [ -f "$ROOT/.env" ]; then set -a; source "$ROOT/.env"; set +a; fi

if [ -z "${TWILIO_AUTH_TOKEN:-}" ]; then
  local_env="$ROOT/.run/local.env"
  if [ ! -f "$local_env" ]; then
    sid="AC$("$ROOT/.venv/bin/python" -c 'import secrets; print(secrets.token_hex(16))')"
    token="$("$ROOT/.venv/bin/python" -c 'import secrets; print(secrets.token_hex(16))')"
    printf 'TWILIO_ACCOUNT_SID=%s\nTWILIO_AUTH_TOKEN=%s\n' "$sid" "$token" > "$local_env"
  fi
  set -a; source "$local_env"; set +a
  say "TWILIO_AUTH_TOKEN is not set: using local credentials from .run/local.env (emulator only)."
  say "To take real calls, put your Twilio credentials in .env (see .env.example)."
fi

if [ -z "${IVR_SECRET_KEY:-}" ]; then
  # The QA pages sign their sessions with it: one made here, kept in .run/local.env (set your own in
  # .env for a real deployment). Plain http on this machine: the session cookie may not be Secure.
  local_env="$ROOT/.run/local.env"
  if ! grep -q '^IVR_SECRET_KEY=' "$local_env" 2>/dev/null; then
    key="$("$ROOT/.venv/bin/python" -c 'import secrets; print(secrets.token_hex(32))')"
    printf 'IVR_SECRET_KEY=%s\n' "$key" >> "$local_env"
    if [[ "${IVR_PUBLIC_URL:-http://127.0.0.1:8000}" == http://* ]] && ! grep -q '^IVR_SESSION_COOKIE_SECURE=' "$local_env"; then
      printf 'IVR_SESSION_COOKIE_SECURE=false\n' >> "$local_env"
    fi
    chmod 600 "$local_env"
  fi
  set -a; source "$local_env"; set +a
  say "IVR_SECRET_KEY is not set: using the one in .run/local.env for the QA pages (http://…/qa/)."
fi

ensure_graphviz

if [ -z "${IVR_REDIS_URL:-}" ]; then
  ensure_redis_server
  ensure_ffmpeg
  socket="$ROOT/.run/redis.sock"
  export IVR_REDIS_URL="unix://$socket"
  if ! redis-cli -s "$socket" ping >/dev/null 2>&1; then
    mkdir -p "$ROOT/.run/redis"
    redis-server --port 0 --unixsocket "$socket" --unixsocketperm 700 --dir "$ROOT/.run/redis" \
      --appendonly yes --daemonize yes --pidfile "$ROOT/.run/redis.pid" --logfile "$ROOT/.run/redis.log"
    for _ in $(seq 50); do redis-cli -s "$socket" ping >/dev/null 2>&1 && break; sleep 0.1; done
    say "started a local Redis at $IVR_REDIS_URL (data in .run/redis)"
  fi
  # So that `ivr call`, `ivr db ...` and workers started by hand find the same Redis.
  printf 'IVR_REDIS_URL=%s\n' "$IVR_REDIS_URL" > "$ROOT/.run/service.env"
fi

mkdir -p "$ROOT/recordings" "$ROOT/var"
exec "$ROOT/.venv/bin/ivr" serve
