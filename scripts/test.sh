#!/usr/bin/env bash
# Run the whole test suite; installs what the tests need; each run starts its own private Redis.
#   1. ruff, and the import contracts (layers, no cycles, a core without frameworks: pyproject.toml)
#   2. every test, at the real time
#   3. the time-sensitive tests again under libfaketime: a Saturday 23:30 UTC, a Monday 03:00 in
#      London, and across the night the clocks go forward in Europe (the suite must pass at any
#      wall-clock moment: every process takes its time from the service's clock, not the system's);
#      each moment runs a third of them, by position (IVR_TEST_EVERY_MOMENT=1: all, at each moment);
#      the three runs go side by side unless IVR_TEST_DATABASE_URL or IVR_TEST_REDIS_URL is shared
# With arguments, only pytest runs, with them: ./scripts/test.sh tests/core -x
# Set IVR_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run
# every database test on PostgreSQL instead of SQLite.
source "$(dirname "$0")/setup.sh"
ensure_redis_server
ensure_audio_tools
ensure_graphviz
ensure_browser
ensure_faketime
PY="$ROOT/.venv/bin/python"
if [ $# -gt 0 ]; then
  exec "$PY" -m pytest "$@"
fi

say "ruff"
"$ROOT/.venv/bin/ruff" check ivr tests bench
say "import contracts"
"$ROOT/.venv/bin/lint-imports" --no-cache
say "every test, at the real time"
"$PY" -m pytest -p no:cacheprovider

MOMENTS=(
  "2026-11-28T23:30:00Z|a Saturday, 23:30 UTC"
  "2026-11-30T03:00:00Z|a Monday, 03:00 in London"
  "2027-03-28T00:59:00Z|a minute before the clocks go forward in Europe"
)
run_moment() {  # run_moment AT DESCRIPTION BASETEMP [--share K/N]: time-sensitive tests, system clock at AT
  local at=$1 offset
  offset=$(( $(date -d "$at" +%s) - $(date +%s) ))
  say "time-sensitive tests with the system clock at $at ($2)"
  # --exclude-monotonic keeps timeouts and thread waits real; tests/faketime/sitecustomize.py works
  # around libfaketime 0.9.10's time.sleep() bug; the tests start redis-server without LD_PRELOAD
  PYTHONPATH="$ROOT/tests/faketime${PYTHONPATH:+:$PYTHONPATH}" \
    faketime -m --exclude-monotonic -f "$(printf '%+d' "$offset")" \
    "$PY" -m pytest -p no:cacheprovider -q -m time_sensitive --basetemp="$3" $4
}

share() {  # each moment runs a third of the time-sensitive tests (all of them: IVR_TEST_EVERY_MOMENT=1)
  [ -n "${IVR_TEST_EVERY_MOMENT:-}" ] || echo "--share $1/${#MOMENTS[@]}"
}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if [ -n "${IVR_TEST_DATABASE_URL:-}${IVR_TEST_REDIS_URL:-}" ]; then
  # a shared database or Redis: one moment after another (each test empties them)
  for i in "${!MOMENTS[@]}"; do
    moment=${MOMENTS[$i]}
    run_moment "${moment%%|*}" "${moment#*|}" "$scratch/$i" "$(share "$i")"
  done
else
  # each run has its own SQLite files and redis-server: the three moments run side by side, each
  # printed whole when it is done
  pids=()
  for i in "${!MOMENTS[@]}"; do
    moment=${MOMENTS[$i]}
    run_moment "${moment%%|*}" "${moment#*|}" "$scratch/$i" "$(share "$i")" > "$scratch/$i.log" 2>&1 &
    pids+=($!)
  done
  failed=0
  for i in "${!MOMENTS[@]}"; do
    wait "${pids[$i]}" || failed=1
    cat "$scratch/$i.log"
  done
  [ "$failed" = 0 ] || { say "time-sensitive tests failed at one of the moments above"; exit 1; }
fi
