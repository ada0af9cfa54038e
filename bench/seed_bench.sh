#!/usr/bin/env bash
# Time `flask seed-demo --count N` (bulk benchmark data) on SQLite and PostgreSQL.
#
#   bench/seed_bench.sh [COUNT] [sqlite|postgresql|both]     (defaults: 1000000 both)
#
# Each run gets a fresh scratch database (a file under a temporary instance
# directory; a `createdb` database on 127.0.0.1 that is dropped at the end),
# the schema from the migrations (`init-db`), then the timed seed.  Budget:
# 1,000,000 entries in at most 600 s on a 2-core machine, on both (bench/targets.py).
# Rebuilding the search index afterwards (`index rebuild`) is not part of it.
set -euo pipefail

COUNT=${1:-1000000}
WHICH=${2:-both}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_USER=${PG_USER:-postgres}

cd "$(dirname "$0")/.."
FLASK=(.venv/bin/flask --app wsgi)
WORK=$(mktemp -d /tmp/seed-bench.XXXXXX)
PG_DB="seed_bench_$$"
export PORTAL_INSTANCE_DIR="$WORK" PORTAL_LOOKUP_KEY=bench-lookup-key PORTAL_ANCHOR_KEY=bench-anchor-key PORTAL_SECRET_KEY=bench
export PORTAL_CERT_SIGNING_KEY=AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=
export PORTAL_INDEX_DIR="$WORK/index" PORTAL_UPLOAD_DIR="$WORK/uploads"

cleanup() {
    if [[ "$WHICH" != sqlite ]]; then
        dropdb --if-exists -h "$PG_HOST" -U "$PG_USER" "$PG_DB" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

run() {
    local label=$1 url=$2
    export PORTAL_DATABASE_URL="$url"
    "${FLASK[@]}" init-db >/dev/null
    echo "== $label: seed-demo --count $COUNT"
    /usr/bin/time -f "== $label: %e s wall, %U s user, %M KB max RSS" \
        "${FLASK[@]}" seed-demo --count "$COUNT"
}

if [[ "$WHICH" == sqlite || "$WHICH" == both ]]; then
    run sqlite "sqlite:///$WORK/bench.db"
    ls -lh "$WORK/bench.db"
fi
if [[ "$WHICH" == postgresql || "$WHICH" == both ]]; then
    createdb -h "$PG_HOST" -U "$PG_USER" "$PG_DB"
    run postgresql "postgresql+psycopg://$PG_USER@$PG_HOST:5432/$PG_DB"
    psql -h "$PG_HOST" -U "$PG_USER" -d "$PG_DB" -Atc \
        "select 'database size: ' || pg_size_pretty(pg_database_size(current_database()))"
fi
