#!/usr/bin/env bash
# A logout on one instance, refused by another: two release-built demos (axum, actix-web) on
# shared PostgreSQL users and Redis tokens, read cache on; bench/propagation.py measures.
#   bench/propagation.sh              # 200 trials per dialect
#   TRIALS=1000 bench/propagation.sh
set -euo pipefail
export PGOPTIONS="-c client_min_messages=warning"
cd "$(dirname "$0")/.."
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
REDIS_PORT=${REDIS_PORT:-6393}
cargo build --release --quiet -p authmount-demo
work=$(mktemp -d)
cleanup() {
    [ -n "${redis_pid:-}" ] && kill "$redis_pid" 2>/dev/null || true
    psql "$PG_URL/postgres" -qtAc 'DROP DATABASE IF EXISTS authmount_propagation' >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no >"$work/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
psql "$PG_URL/postgres" -qtAc 'DROP DATABASE IF EXISTS authmount_propagation' >/dev/null
psql "$PG_URL/postgres" -qtAc 'CREATE DATABASE authmount_propagation' >/dev/null
DEMO="${CARGO_TARGET_DIR:-target}/release/authmount-demo" \
USERS_URL="$PG_URL/authmount_propagation" TOKENS_URL="redis://127.0.0.1:$REDIS_PORT/" \
LOG_A="$work/a.log" LOG_B="$work/b.log" python3 bench/propagation.py
