#!/usr/bin/env bash
# Run the whole suite on SQLite and PostgreSQL; "no tests collected" is a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
WORKERS="${PYTEST_WORKERS:-auto}"
"$BIN/python" -m pytest -n "$WORKERS" --dist loadgroup --durations=25 "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: failing the run" >&2
  exit 1
fi
exit "$status"
