#!/usr/bin/env bash
# Installs what the project needs on a fresh machine: a virtualenv with the project and its
# development tools, and the npm packages (the Stripe CLI). Safe to run again: it only adds.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# pip's warnings about configured package locations that this machine lacks are noise.
quiet_pip() { "$@" 2> >(grep -v "^WARNING: Location" >&2); }
quiet_pip .venv/bin/python -m pip install --quiet --upgrade pip
quiet_pip .venv/bin/python -m pip install --quiet -e '.[dev]'

if [ -f package-lock.json ] && command -v npm >/dev/null 2>&1; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi

# Browser tests: Playwright's Python package (installed above with the dev extras) drives
# Debian's Chromium; no browser is downloaded.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
fi
