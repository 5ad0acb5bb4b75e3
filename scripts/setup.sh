# Sourced by serve.sh and test.sh: install what the service needs, once. Safe to run again.
# Works on a fresh Debian machine with only Python 3.11 and root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
mkdir -p "$ROOT/.run"

say() { printf 'ivr setup: %s\n' "$*" >&2; }

apt_install() {  # apt_install package... (only what is missing)
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || { say "please install: ${missing[*]}"; return 1; }
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing ${missing[*]} with apt-get"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_venv() {
  if [ ! -x "$ROOT/.venv/bin/python" ]; then
    if ! "$PYTHON" -m venv "$ROOT/.venv" >/dev/null 2>&1; then
      rm -rf "$ROOT/.venv"
      apt_install "python3-venv"
      "$PYTHON" -m venv "$ROOT/.venv"
    fi
  fi
  local stamp="$ROOT/.venv/.ivr-installed" want
  want=$(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing Python packages into .venv"
    "$ROOT/.venv/bin/python" -m pip install -q --upgrade pip
    "$ROOT/.venv/bin/python" -m pip install -q -e "$ROOT[test]"
    echo "$want" > "$stamp"
  fi
}

ensure_redis_server() {
  command -v redis-server >/dev/null || apt_install redis-server
}

ensure_audio_tools() {  # the emulator's caller speaks through espeak-ng and sox
  command -v espeak-ng >/dev/null && command -v sox >/dev/null && command -v ffmpeg >/dev/null \
    || apt_install espeak-ng sox ffmpeg
}

ensure_ffmpeg() {  # recordings are checked, redacted and encoded with pydub, which runs ffmpeg
  command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || apt_install ffmpeg
}

ensure_graphviz() {  # `dot` draws the flows (ivr flows draw, the QA pages' Call page)
  command -v dot >/dev/null || apt_install graphviz
}

ensure_browser() {  # the QA pages' tests drive Debian's Chromium with Playwright (never `playwright install`)
  [ -x /usr/bin/chromium ] || apt_install chromium
}

ensure_faketime() {  # the test command runs the time-sensitive tests at other moments too
  command -v faketime >/dev/null || apt_install faketime
}

ensure_venv
