#!/usr/bin/env bash
# Set-up and the two everyday jobs, on a fresh machine:
#   bash scripts/dev.sh demo   create .venv, install, sync from the bundled replay hub into ./data
#   bash scripts/dev.sh test   create .venv, install, run lint, types and the test suite
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${LLMSYNC_VENV:-.venv}

export DO_NOT_TRACK=1
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=${PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS:-120}
export HF_HUB_DISABLE_TELEMETRY=1

setup() {
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "llmsync needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
    exit 1
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
  fi
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e '.[test]'
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
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
    || echo "could not install chromium: the report's browser test will skip" >&2
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
    "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    echo "usage: bash scripts/dev.sh demo|test [args]" >&2
    exit 2
    ;;
esac
