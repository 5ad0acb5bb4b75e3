#!/usr/bin/env bash
# Run the whole test suite. Installs what the tests need; each run starts its own private Redis.
# Set IVR_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run
# every database test on PostgreSQL instead of SQLite.
source "$(dirname "$0")/setup.sh"
ensure_redis_server
ensure_audio_tools
exec "$ROOT/.venv/bin/python" -m pytest "$@"
