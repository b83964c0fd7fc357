#!/usr/bin/env bash
# The load benchmark of issue 8 (see BENCHMARKS.md, "Load benchmark (issue 8)"): release-built
# examples/bench-server on 127.0.0.1, driven by wrk, bounded in time; prints ONE table.
#
#   bench/run.sh                       # 5 s per measurement, 64 connections (about 3 minutes)
#   DURATION=10s CONNECTIONS=128 bench/run.sh
#   PIN=1 bench/run.sh                 # server on CPU 0, wrk on CPU 1 (taskset)
#   SESSIONS=1000000 (default)         # live opaque sessions held for the memory row (e)
#
# Rows: (a) protected route per framework: plain (baseline), JWT HS256, opaque token in the
# memory / SQLite / Redis store, each with its ratio to the baseline and the server's CPU time
# per request; (b) login throughput of AMCR's POST /api/token-auth/ against the hashing bound
# (cores / one argon2id verify, measured by the server at start); (c) p99 of the opaque route
# while a second wrk floods logins, at a paced load (bench/paced.lua) and saturated; (d) the peer, Django + DRF + SimpleJWT under gunicorn
# (bench/peer/run.sh; PEER=0 skips it), with authmount's ratios to it; (e) resident memory with
# SESSIONS live opaque sessions. wrk and redis-server (a private instance on
# 127.0.0.1:$REDIS_PORT, no persistence) are installed with apt if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-64}
LOGIN_CONNECTIONS=${LOGIN_CONNECTIONS:-8}
ADDR=${ADDR:-127.0.0.1:8090}
REDIS_PORT=${REDIS_PORT:-6391}
SESSIONS=${SESSIONS:-1000000}
PIN=${PIN:-0}
CORES=$(nproc)

PEER=${PEER:-1}
export PACE_MS=${PACE_MS:-2}

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ "$PEER" = 1 ]; then
    command -v python3 >/dev/null || missing+=(python3)
    python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
fi
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
cargo build --release --quiet -p authmount-bench-server
server_bin="${CARGO_TARGET_DIR:-target}/release/authmount-bench-server"
work=$(mktemp -d)

# The hashing bound counts the cores the server may use: all of them, or the one it is pinned to.
server_pin=() wrk_pin=() server_cores=$CORES
if [ "$PIN" = 1 ]; then server_pin=(taskset -c 0) wrk_pin=(taskset -c 1) server_cores=1; fi

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

redis_ok=0
if command -v redis-server >/dev/null; then
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
        --daemonize no >"$work/redis.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 50); do
        redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && { redis_ok=1; break; }
        sleep 0.1
    done
fi

# Latency from wrk ("812.00us", "1.20ms", "2.00s") in milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n *= 1; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'; }
# CPU ticks (user + system) the process has used.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

start_server() { # framework [flags...]; sets server_pid and server_log
    # A fresh file each time: the old one still says READY until the new server truncates it.
    server_log=$(mktemp -p "$work" server.XXXXXX.log)
    "${server_pin[@]}" "$server_bin" "$@" >"$server_log" 2>&1 &
    server_pid=$!
    pids+=("$server_pid")
    for _ in $(seq 600); do grep -q READY "$server_log" && return 0; sleep 0.1; done
    echo "server did not start:" >&2; cat "$server_log" >&2; exit 1
}
stop_server() { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }

# measure path header [wrk args...] -> "rps p50ms p99ms cpu_us_per_request"
measure() {
    local path=$1 header=$2; shift 2
    local t0 out t1
    t0=$(ticks "$server_pid")
    out=$("${wrk_pin[@]}" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -H "$header" "$@" "http://$ADDR$path")
    t1=$(ticks "$server_pid")
    if grep -q -e "Non-2xx" -e "Socket errors: connect [1-9]" -e "read [1-9]" -e "write [1-9]" <<<"$out"; then
        echo "errors on $path:" >&2; echo "$out" >&2; exit 1
    fi
    # A request slower than wrk's 2 s timeout is a result (a saturated store), not a failure.
    if grep -q "timeout [1-9]" <<<"$out"; then
        echo "note: $(grep -o 'timeout [0-9]*' <<<"$out") request(s) over 2 s on $path" >&2
    fi
    local rps p50 p99 n
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
    local hz; hz=$(getconf CLK_TCK)
    local cpu; cpu=$(awk -v d=$((t1 - t0)) -v n="$n" -v hz="$hz" 'BEGIN {printf "%.1f", d / hz * 1e6 / n}')
    echo "$rps $p50 $p99 $cpu"
}

# flood_report framework label token paced_p99 saturated_p99: the (c) rows under a login flood.
flood_report() {
    local framework=$1 label=$2 token=$3 paced=$4 saturated=$5 load flood rps p50 p99 cpu
    local flood_secs=$(( ${DURATION%s} + 2 ))
    for load in paced saturated; do
        "${wrk_pin[@]}" wrk -t1 -c"$LOGIN_CONNECTIONS" -d"${flood_secs}s" -s bench/login.lua \
            "http://$ADDR/api/token-auth/" >"$work/flood.out" 2>&1 &
        flood=$!
        pids+=("$flood")
        sleep 1
        if [ "$load" = paced ]; then
            read -r rps p50 p99 cpu < <(measure /opaque "Authorization: Bearer $token" -s bench/paced.lua)
            row "$framework" "(c) paced + login flood$label" "$rps" "$(ratio "$p99" "$paced")" "$p50" "$p99" "$cpu" \
                "ratio = p99 / paced quiet p99 ($paced ms), <= 2"
        else
            read -r rps p50 p99 cpu < <(measure /opaque "Authorization: Bearer $token")
            row "$framework" "(c) saturated + flood$label" "$rps" "$(ratio "$p99" "$saturated")" "$p50" "$p99" "$cpu" \
                "ratio = p99 / (a) opaque p99 ($saturated ms)"
        fi
        wait "$flood" || true
    done
}

row() { # framework scenario rps ratio p50 p99 cpu target
    printf '%-6s %-28s %10.0f %7s %8s %8s %8s  %s\n' "$@"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

echo "authmount load benchmark: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $CONNECTIONS connections, $DURATION per row, pinned=$PIN"
printf '%-6s %-28s %10s %7s %8s %8s %8s  %s\n' fw scenario "req/s" ratio "p50 ms" "p99 ms" "cpu us" "target"

declare -A jwt_rps login_rps
for framework in axum actix; do
    start_server "$framework" "$ADDR"
    jwt=$(sed -n 's/^JWT=//p' "$server_log")
    opaque=$(sed -n 's/^OPAQUE=//p' "$server_log")
    verify_ms=$(sed -n 's/^VERIFY_MS=//p' "$server_log")
    read -r base_rps base_p50 base_p99 base_cpu < <(measure /plain "X-Bench: baseline")
    row "$framework" "(a) plain (baseline)" "$base_rps" 1.00 "$base_p50" "$base_p99" "$base_cpu" ""
    read -r rps p50 p99 cpu < <(measure /jwt "Authorization: JWT $jwt")
    jwt_rps[$framework]=$rps
    row "$framework" "(a) JWT HS256" "$rps" "$(ratio "$rps" "$base_rps")" "$p50" "$p99" "$cpu" ">= 0.85"
    read -r rps p50 p99 cpu < <(measure /opaque "Authorization: Bearer $opaque")
    quiet_p99=$p99
    row "$framework" "(a) opaque, memory store" "$rps" "$(ratio "$rps" "$base_rps")" "$p50" "$p99" "$cpu" ">= 0.90"

    # (b) login throughput against (the server's) cores / one verify.
    bound=$(awk -v c="$server_cores" -v ms="$verify_ms" 'BEGIN {printf "%.1f", c * 1000 / ms}')
    read -r rps p50 p99 cpu < <(CONNECTIONS=$LOGIN_CONNECTIONS measure /api/token-auth/ "X-Bench: login" -s bench/login.lua)
    login_rps[$framework]=$rps
    row "$framework" "(b) login (bound $bound/s)" "$rps" "$(ratio "$rps" "$bound")" "$p50" "$p99" "$cpu" ">= 0.85 of bound (verify ${verify_ms} ms)"

    # (c) the opaque route while a second wrk floods logins, paced (steady load well below
    # saturation, so p99 is the server's latency, bench/paced.lua) and saturated (p99 is then
    # mostly the queue 64 connections build), each against the same load without the flood.
    read -r rps p50 p99 cpu < <(measure /opaque "Authorization: Bearer $opaque" -s bench/paced.lua)
    paced_p99=$p99
    row "$framework" "(c) opaque, paced, quiet" "$rps" "" "$p50" "$p99" "$cpu" "PACE_MS=$PACE_MS per connection"
    flood_report "$framework" "" "$opaque" "$paced_p99" "$quiet_p99"
    stop_server

    # (b), (c) again with the hashing threads at the process's own priority (--hash-niceness 0),
    # as they ran before they were lowered: what the default's +19 buys.
    start_server "$framework" "$ADDR" --hash-niceness 0
    opaque=$(sed -n 's/^OPAQUE=//p' "$server_log")
    read -r rps p50 p99 cpu < <(CONNECTIONS=$LOGIN_CONNECTIONS measure /api/token-auth/ "X-Bench: login" -s bench/login.lua)
    row "$framework" "(b) login, hashing nice 0" "$rps" "$(ratio "$rps" "$bound")" "$p50" "$p99" "$cpu" "of the same bound"
    flood_report "$framework" ", nice 0" "$opaque" "$paced_p99" "$quiet_p99"
    stop_server

    # (a) the opaque route on the SQLite and Redis stores.
    start_server "$framework" "$ADDR" --tokens "sqlite:$work/tokens.db"
    opaque=$(sed -n 's/^OPAQUE=//p' "$server_log")
    read -r rps p50 p99 cpu < <(measure /opaque "Authorization: Bearer $opaque")
    row "$framework" "(a) opaque, SQLite store" "$rps" "$(ratio "$rps" "$base_rps")" "$p50" "$p99" "$cpu" ""
    stop_server
    if [ "$redis_ok" = 1 ]; then
        start_server "$framework" "$ADDR" --tokens "redis://127.0.0.1:$REDIS_PORT/"
        opaque=$(sed -n 's/^OPAQUE=//p' "$server_log")
        read -r rps p50 p99 cpu < <(measure /opaque "Authorization: Bearer $opaque")
        row "$framework" "(a) opaque, Redis store" "$rps" "$(ratio "$rps" "$base_rps")" "$p50" "$p99" "$cpu" ""
        stop_server
    else
        echo "$framework  (a) opaque, Redis store: skipped (no redis-server)"
    fi
done

# (d) the peer, same load generator and settings; ratio = authmount's req/s / the peer's.
if [ "$PEER" = 1 ]; then
    while read -r name rps p50 p99 cpu; do
        case $name in
        protected)
            row peer "(d) JWT route, Django" "$rps" 1.00 "$p50" "$p99" "$cpu" \
                "axum JWT $(ratio "${jwt_rps[axum]}" "$rps")x, actix $(ratio "${jwt_rps[actix]}" "$rps")x the peer" ;;
        token)
            row peer "(d) login, Django" "$rps" 1.00 "$p50" "$p99" "$cpu" \
                "axum login $(ratio "${login_rps[axum]}" "$rps")x, actix $(ratio "${login_rps[actix]}" "$rps")x the peer" ;;
        esac
    done < <(RAW=1 DURATION=$DURATION CONNECTIONS=$CONNECTIONS LOGIN_CONNECTIONS=$LOGIN_CONNECTIONS PIN=$PIN bench/peer/run.sh)
fi

# (e) resident memory with SESSIONS live opaque sessions in the memory store (axum).
rss() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
start_server axum "$ADDR"
empty=$(rss "$server_pid")
stop_server
start_server axum "$ADDR" --prefill "$SESSIONS"
full=$(rss "$server_pid")
stop_server
echo "(e) resident memory: ${full} MB with ${SESSIONS} live opaque sessions (${empty} MB with none); target < 300 MB"
# ... and with a read cache holding every one of them as well (the cache's own share).
start_server axum "$ADDR" --prefill "$SESSIONS" --cache $((SESSIONS + SESSIONS / 10))
cached=$(rss "$server_pid")
stop_server
echo "(e) resident memory: ${cached} MB with the same sessions also in a read cache: the cache holds ${SESSIONS} entries in $(awk -v a="$cached" -v b="$full" 'BEGIN {printf "%.1f", a - b}') MB"
