#!/usr/bin/env bash
# The gate's cost on the stores people deploy (issue 12; see BENCHMARKS.md, "Gate on real
# stores"): the release-built demo on 127.0.0.1, driven by wrk, as a new user would try it.
# For each framework and store set-up, with the read cache on and off, it compares
#   GET /api/whoami with a valid token (JWT: a Meldeschein token; opaque: an AMCR token)
# against the public GET /api/meldeschein/schema/meta/ of the same server, in one run.
#
#   bench/gate.sh                               # 5 s per measurement, wrk -t1 -c32
#   DURATION=10s CONNECTIONS=64 bench/gate.sh
#   SETUPS="sqlite postgres+redis" bench/gate.sh
#   CACHE="on" FRAMEWORKS=axum bench/gate.sh
#
# Set-ups: sqlite (users and tokens in one SQLite file: the demo's default), sqlite+memory
# (SQLite users, memory tokens), postgres+redis (PostgreSQL users in a database of its own,
# `authmount_bench`, made and dropped here; Redis tokens in a private redis-server on
# $REDIS_PORT). PostgreSQL is reached at $PG_URL (default postgres://postgres@127.0.0.1:5432).
set -euo pipefail
export PGOPTIONS="-c client_min_messages=warning"
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-32}
ADDR=${ADDR:-127.0.0.1:8093}
REDIS_PORT=${REDIS_PORT:-6392}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
SETUPS=${SETUPS:-"sqlite sqlite+memory postgres+redis"}
FRAMEWORKS=${FRAMEWORKS:-"axum actix"}
CACHE=${CACHE:-"on off"}

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet -p authmount-demo
demo="${CARGO_TARGET_DIR:-target}/release/authmount-demo"
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    psql "$PG_URL/postgres" -qtAc 'DROP DATABASE IF EXISTS authmount_bench' >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

store_flags() { # setup -> --users ... --tokens ...
    case $1 in
    sqlite) echo "--users sqlite:$work/demo.db --tokens sqlite:$work/demo.db" ;;
    sqlite+memory) echo "--users sqlite:$work/demo.db --tokens memory" ;;
    postgres+redis) echo "--users $PG_URL/authmount_bench --tokens redis://127.0.0.1:$REDIS_PORT/" ;;
    *) echo "unknown set-up $1" >&2; exit 2 ;;
    esac
}

fresh_stores() { # setup: empty stores, so the demo user is made (and its password printed) anew
    rm -f "$work"/demo.db*
    redis-cli -p "$REDIS_PORT" flushall >/dev/null
    if [ "$1" = postgres+redis ]; then
        psql "$PG_URL/postgres" -qtAc 'DROP DATABASE IF EXISTS authmount_bench' >/dev/null
        psql "$PG_URL/postgres" -qtAc 'CREATE DATABASE authmount_bench' >/dev/null
    fi
}

start_demo() { # framework setup cache
    fresh_stores "$2"
    local enabled=true
    [ "$3" = off ] && enabled=false
    log="$work/demo.log"
    # shellcheck disable=SC2046
    AUTHMOUNT_CACHE_ENABLED=$enabled AUTHMOUNT_JWT_SECRET_FILE="$work/jwt.secret" \
        "$demo" --framework "$1" --addr "$ADDR" $(store_flags "$2") >"$log" 2>&1 &
    demo_pid=$!
    pids+=("$demo_pid")
    for _ in $(seq 300); do
        curl -fs "http://$ADDR/api/meldeschein/schema/meta/" >/dev/null 2>&1 && break
        sleep 0.1
    done
    password=$(sed -n 's/^  password: //p' "$log")
    [ -n "$password" ] || { echo "the demo printed no password:" >&2; cat "$log" >&2; exit 1; }
    amcr=$(curl -fs -H 'content-type: application/json' \
        -d "{\"username\":\"demo\",\"password\":\"$password\"}" "http://$ADDR/api/token-auth/" |
        sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
    jwt=$(curl -fs -H 'content-type: application/json' \
        -d "{\"username\":\"demo\",\"password\":\"$password\"}" "http://$ADDR/api/token/" |
        sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
    [ -n "$amcr" ] && [ -n "$jwt" ] || { echo "login failed" >&2; cat "$log" >&2; exit 1; }
}
stop_demo() { kill "$demo_pid" 2>/dev/null || true; wait "$demo_pid" 2>/dev/null || true; }

measure() { # path [header] -> requests/s
    local out
    out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" ${2:+-H "$2"} "http://$ADDR$1")
    if grep -q -e "Non-2xx" -e "Socket errors" <<<"$out"; then
        echo "errors on $1:" >&2; echo "$out" >&2; exit 1
    fi
    awk '/^Requests\/sec/ {print $2}' <<<"$out"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

echo "authmount gate benchmark: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), wrk -t1 -c$CONNECTIONS, $DURATION per measurement"
printf '%-6s %-15s %-6s %12s %10s %7s %10s %7s\n' fw set-up cache "public r/s" "JWT r/s" ratio "opaque r/s" ratio
for framework in $FRAMEWORKS; do
    for setup in $SETUPS; do
        for cache in $CACHE; do
            start_demo "$framework" "$setup" "$cache"
            public=$(measure /api/meldeschein/schema/meta/)
            jwt_rps=$(measure /api/whoami "Authorization: JWT $jwt")
            opaque_rps=$(measure /api/whoami "Authorization: Bearer $amcr")
            printf '%-6s %-15s %-6s %12.0f %10.0f %7s %10.0f %7s\n' "$framework" "$setup" "$cache" \
                "$public" "$jwt_rps" "$(ratio "$jwt_rps" "$public")" "$opaque_rps" "$(ratio "$opaque_rps" "$public")"
            stop_demo
        done
    done
done
