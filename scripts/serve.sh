#!/usr/bin/env bash
# Start the background worker and gunicorn together; Ctrl-C stops both.
# The worker is supervised: if it exits (a crash, a kill), it is started again after a
# pause that grows with repeated failures, and the web server stays up meanwhile.
# gunicorn's master restarts its own workers; only when the master itself exits does
# this script stop.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT="${PORT:-8000}"

LOGINS="$("$BIN/flask" --app wsgi demo-logins 2>/dev/null || true)"

# Rate limits must be shared by gunicorn's workers: use the machine's Redis when it answers
# (gunicorn.conf.py then runs 2 workers; without Redis it runs 1 and refuses more).
if [ -z "${PORTAL_REDIS_URL:-}" ]; then
  PORTAL_REDIS_URL="$("$BIN/python" scripts/redis_probe.py || true)"
fi
if [ -n "${PORTAL_REDIS_URL:-}" ]; then export PORTAL_REDIS_URL; else unset PORTAL_REDIS_URL; fi

supervise_worker() {
  local pause=1 started status child=""
  # every child of this subshell (the worker, a pause) is stopped with it
  trap 'kill -TERM $(jobs -p) 2>/dev/null; wait 2>/dev/null; exit 0' TERM INT
  while true; do
    started=$(date +%s)
    "$BIN/flask" --app wsgi worker &
    child=$!
    status=0
    wait "$child" || status=$?
    # a worker that ran for a minute or more is restarted after 1 s; quick crashes back off
    # (1, 2, 4 … 30 s)
    if [ $(( $(date +%s) - started )) -ge 60 ]; then pause=1; fi
    echo "worker exited with status $status; restarting in ${pause}s" >&2
    sleep "$pause" & child=$!
    wait "$child" || true
    pause=$(( pause * 2 > 30 ? 30 : pause * 2 ))
  done
}

supervise_worker &
SUPERVISOR=$!
"$BIN/gunicorn" -c gunicorn.conf.py wsgi:app &
WEB=$!

stop() {
  trap - INT TERM EXIT
  kill -TERM "$WEB" "$SUPERVISOR" 2>/dev/null || true
  wait "$WEB" "$SUPERVISOR" 2>/dev/null || true
  echo "stopped"
}
trap stop INT TERM EXIT

for _ in $(seq 1 100); do
  # any answer (200, or 503 while the worker's first round is still running) means "up"
  if curl -sS -o /dev/null "http://127.0.0.1:${PORT}/healthz" 2>/dev/null; then break; fi
  sleep 0.2
done
echo
echo "Portal running at http://127.0.0.1:${PORT}/   (Ctrl-C stops the web server and the worker)"
[ -n "$LOGINS" ] && echo "$LOGINS"
echo
# Only the web server's exit ends the script; the trap stops the worker's supervisor.
wait "$WEB"
