#!/usr/bin/env bash
# The README's first command: set up, then run the default staging simulation (100 customers
# over 3 months on the embedded defaults: fresh SQLite, in-process Stripe emulator) with its
# report in reports/staging. Extra arguments go to the command; `bash ci/staging.sh stack`
# runs the staging stack (emulator and system) instead.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/setup.sh
if [ "${1:-}" = "stack" ]; then
    shift
    exec .venv/bin/rsolv-billing stack "$@"
fi
exec .venv/bin/rsolv-billing simulate --customers 100 --months 3 --seed 1 \
    --report reports/staging "$@"
