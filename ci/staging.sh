#!/usr/bin/env bash
# The README's first command: set up, then run the staging stack on the embedded defaults
# (SQLite under ./var, the Stripe emulator in-process). Extra arguments go to the command.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/setup.sh
exec .venv/bin/rsolv-billing stack "$@"
