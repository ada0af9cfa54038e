#!/usr/bin/env bash
# Start the background worker and gunicorn together; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT="${PORT:-8000}"

LOGINS="$("$BIN/flask" --app wsgi demo-logins 2>/dev/null || true)"

"$BIN/flask" --app wsgi worker &
WORKER=$!
"$BIN/gunicorn" -c gunicorn.conf.py wsgi:app &
WEB=$!

stop() {
  trap - INT TERM EXIT
  kill -TERM "$WEB" "$WORKER" 2>/dev/null || true
  wait "$WEB" "$WORKER" 2>/dev/null || true
  echo "stopped"
}
trap stop INT TERM EXIT

for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:${PORT}/healthz" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
echo
echo "Portal running at http://127.0.0.1:${PORT}/   (Ctrl-C stops the web server and the worker)"
[ -n "$LOGINS" ] && echo "$LOGINS"
echo
# Exit when either process dies; the trap stops the other.
wait -n "$WEB" "$WORKER"
