#!/usr/bin/env bash
# The README's test command: sets up everything, then lint, types and the whole test suite
# with branch coverage. The suite runs on SQLite; when DATABASE_URL names a PostgreSQL
# server, everything that touches the database runs again there. Coverage is gated at the
# threshold in pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff"; ruff check . && ruff format --check .
echo "== mypy"; mypy

postgres_url=${DATABASE_URL:-}
coverage erase
echo "== pytest on SQLite"
env -u DATABASE_URL pytest --cov --cov-report= -p no:cacheprovider "$@"
if [[ "$postgres_url" == postgresql* ]]; then
  echo "== pytest on PostgreSQL ($postgres_url)"
  # The suites that use the system's database (the simulator makes its own SQLite file).
  DATABASE_URL="$postgres_url" pytest --cov --cov-append --cov-report= -p no:cacheprovider \
    features tests/system tests/dashboard --ignore=features/test_simulator.py "$@"
else
  echo "== PostgreSQL run skipped: DATABASE_URL is not a postgresql:// URL (CI sets it)"
fi
echo "== coverage"
coverage report
if [[ "$postgres_url" == postgresql* ]]; then
  # The load gate: 30 s of the Locust scenarios against the embedded stack (emulator and
  # `serve --workers 2`) on a fresh PostgreSQL database. It prints its figures and fails CI
  # when provisioning p99 is not under 5 s, or on any 5xx or failed check.
  echo "== load: 30 s headless Locust run on PostgreSQL (gate)"
  DATABASE_URL="$postgres_url" rsolv-billing load --duration 30 --users 20 \
    --report reports/load-ci
fi
