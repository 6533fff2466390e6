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
  DATABASE_URL="$postgres_url" pytest --cov --cov-append --cov-report= -p no:cacheprovider \
    features tests/system "$@"
else
  echo "== PostgreSQL run skipped: DATABASE_URL is not a postgresql:// URL (CI sets it)"
fi
echo "== coverage"
coverage report
