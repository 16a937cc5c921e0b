#!/usr/bin/env bash
# Set-up and the everyday jobs, on a fresh machine:
#   bash scripts/dev.sh demo   create .venv, install the locked set, sync from the bundled replay hub into ./data
#   bash scripts/dev.sh test   create .venv, install the locked set, run lint, types and the test suite
#   bash scripts/dev.sh lock   re-resolve requirements.lock from pyproject.toml (needs the package index)
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
    echo "usage: bash scripts/dev.sh demo|test|lock|docs|screenshot [args]" >&2
    exit 2
    ;;
esac
