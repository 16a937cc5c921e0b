#!/usr/bin/env bash
# Set-up and the everyday jobs, on a fresh machine:
#   bash scripts/dev.sh demo   create .venv, install the locked set, sync from the bundled replay hub into ./data
#   bash scripts/dev.sh test   create .venv, install the locked set, run lint, types and the test suite
#   bash scripts/dev.sh lock   re-resolve requirements.lock from pyproject.toml (needs the package index)
#   bash scripts/dev.sh eee    create .venv-eee (Python 3.12+) with Every Eval Ever's validator (also run by test)
#   bash scripts/dev.sh docs   regenerate docs/tables.md from the table schemas
#   bash scripts/dev.sh screenshot  remake docs/report.png from the demo data (syncs it if absent)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${LLMSYNC_VENV:-.venv}
LOCK=requirements.lock
# The resolver that writes the lock; pinned so a refresh is reproducible too.
UV_VERSION=0.13.9

export DO_NOT_TRACK=1
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=${PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS:-120}
export HF_HUB_DISABLE_TELEMETRY=1

# What the installed environment was built from: the lock and the project file.
install_key() {
  cat "$LOCK" pyproject.toml | "$PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'
}

# pip's own chatter (and setuptools' editable-install notice) goes to a log
# that is shown only when the install fails.
quiet_pip() {
  local log="$VENV/install.log"
  if ! "$VENV/bin/python" -m pip "$@" >>"$log" 2>&1; then
    cat "$log" >&2
    echo "dev.sh: 'pip $*' failed (log above, kept in $log)" >&2
    exit 1
  fi
}

setup() {
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "llmsync needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
    exit 1
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
  fi
  local stamp="$VENV/.llmsync-install-key" key
  key=$(install_key)
  # Idempotent: install only when the lock or pyproject.toml changed since the last install.
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
    return
  fi
  echo "dev.sh: installing the locked dependencies ($LOCK) into $VENV ..." >&2
  : >"$VENV/install.log"
  quiet_pip install --quiet --upgrade pip
  quiet_pip install --quiet -r "$LOCK"
  quiet_pip install --quiet --no-deps -e .
  echo "$key" >"$stamp"
}

lock() {
  setup
  quiet_pip install --quiet "uv==$UV_VERSION"
  "$VENV/bin/uv" pip compile pyproject.toml --extra test --universal --python-version 3.11 \
    --upgrade --quiet -o "$LOCK"
  echo "dev.sh: $LOCK refreshed; run 'bash scripts/dev.sh test' before committing it" >&2
}

# Every Eval Ever's validator checks `llmsync export eee` in the tests. It needs
# Python 3.12+ while llmsync stays on 3.11, so it gets a venv of its own from the
# first 3.12+ interpreter found, pinned exactly by requirements-eee.lock
# (`dev.sh eee lock` re-resolves it from requirements-eee.in). Without one the
# test skips, except under CI (CI set), where it fails.
EEE_VENV=${LLMSYNC_EEE_VENV:-.venv-eee}
setup_eee() {
  local lock=requirements-eee.lock candidate found="" stamp="$EEE_VENV/.llmsync-install-key" key
  if [ "${1:-}" = lock ]; then
    setup
    quiet_pip install --quiet "uv==$UV_VERSION"
    "$VENV/bin/uv" pip compile requirements-eee.in --universal --python-version 3.12 --quiet -o "$lock"
    return
  fi
  for candidate in ${EEE_PYTHON:-} python3.14 python3.13 python3.12 "$PYTHON" \
    $(command -v pyenv >/dev/null 2>&1 && ls -d "$(pyenv root)"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
      found=$candidate
      break
    fi
  done
  if [ -z "$found" ]; then
    echo "dev.sh: no Python 3.12+ found (set EEE_PYTHON): Every Eval Ever's validator is not installed: its test will skip (under CI this set-up fails)" >&2
    # CI must validate the export with EEE itself: there no interpreter fails the run.
    [ -z "${CI:-}" ] || exit 1
    return 0
  fi
  [ -x "$EEE_VENV/bin/python" ] || "$found" -m venv "$EEE_VENV"
  key=$("$PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$lock")
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
    return 0
  fi
  echo "dev.sh: installing Every Eval Ever ($lock) into $EEE_VENV with $("$found" --version 2>&1) ..." >&2
  if ! "$EEE_VENV/bin/python" -m pip install --quiet -r "$lock" >"$EEE_VENV/install.log" 2>&1; then
    cat "$EEE_VENV/install.log" >&2
    echo "dev.sh: could not install Every Eval Ever into $EEE_VENV" >&2
    exit 1
  fi
  echo "$key" >"$stamp"
}

# The report's browser test runs Debian's chromium headless: install it where
# apt-get can (as root); elsewhere that one test skips and says why.
ensure_chromium() {
  if [ -x /usr/bin/chromium ] || ! command -v apt-get >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "no chromium and not root: the report's browser test will skip" >&2
    return 0
  fi
  echo "dev.sh: installing Debian's chromium for the report's browser test ..." >&2
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
    >"$VENV/apt.log" 2>&1; then
    cat "$VENV/apt.log" >&2
    # CI must check the report in a browser: there a failed install fails the run.
    if [ -n "${CI:-}" ]; then
      echo "dev.sh: could not install chromium" >&2
      exit 1
    fi
    echo "dev.sh: could not install chromium: the report's browser test will skip" >&2
  fi
}

case "${1:-}" in
  demo)
    setup
    shift
    "$VENV/bin/llmsync" sync --hub replay "$@"
    ;;
  test)
    setup
    ensure_chromium
    setup_eee
    shift
    "$VENV/bin/ruff" check src flows tests scripts bench
    "$VENV/bin/ruff" format --check src flows tests scripts bench
    "$VENV/bin/mypy"
    # One worker per core (two here): see tests/conftest.py for how tests are grouped.
    "$VENV/bin/python" -m pytest -n "${LLMSYNC_TEST_WORKERS:-auto}" --dist loadgroup "$@"
    ;;
  lock)
    lock
    ;;
  eee)
    shift
    setup_eee "$@"
    ;;
  docs)
    setup
    "$VENV/bin/python" -m llmsync.tables.reference docs/tables.md
    ;;
  screenshot)
    setup
    ensure_chromium
    # The demo's data (./data): one sync of the whole replay hub, made if missing.
    if ! "$VENV/bin/llmsync" snapshots --latest >/dev/null 2>&1; then
      "$VENV/bin/llmsync" sync --hub replay
    fi
    page=$("$VENV/bin/llmsync" report)
    "$VENV/bin/python" scripts/headless.py "$page" --screenshot docs/report.png --height 1240
    echo "dev.sh: docs/report.png made from $page" >&2
    ;;
  *)
    echo "usage: bash scripts/dev.sh demo|test|lock|eee|docs|screenshot [args]" >&2
    exit 2
    ;;
esac
