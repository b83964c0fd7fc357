#!/usr/bin/env bash
# Requests/s of a protected route as a ratio of the same route with no auth, on axum and actix-web:
# a release build of examples/bench-server on 127.0.0.1, driven by wrk. Prints one table.
#
#   bench/protected-route.sh            # 10 s per measurement, 64 connections
#   DURATION=30s CONNECTIONS=128 bench/protected-route.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
ADDR=${ADDR:-127.0.0.1:8090}

if ! command -v wrk >/dev/null; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --quiet -p authmount-bench-server
server_bin="${CARGO_TARGET_DIR:-target}/release/authmount-bench-server"

# wrk's summary: requests/s, then p50 and p99 latency from --latency.
measure() { # route header
    local out
    out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -H "$2" "http://$ADDR/$1")
    local rps p50 p99
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    if grep -q "Non-2xx" <<<"$out"; then
        echo "non-2xx answers on /$1:" >&2
        echo "$out" >&2
        exit 1
    fi
    echo "$rps $p50 $p99"
}

printf '%-7s %-8s %12s %8s %9s %9s\n' framework route "requests/s" ratio p50 p99
for framework in axum actix; do
    log=$(mktemp)
    "$server_bin" "$framework" "$ADDR" >"$log" 2>&1 &
    pid=$!
    trap 'kill $pid 2>/dev/null || true' EXIT
    for _ in $(seq 100); do grep -q READY "$log" && break; sleep 0.1; done
    jwt=$(sed -n 's/^JWT=//p' "$log")
    opaque=$(sed -n 's/^OPAQUE=//p' "$log")
    read -r base_rps base_p50 base_p99 < <(measure plain "X-Bench: baseline")
    printf '%-7s %-8s %12.0f %8s %9s %9s\n' "$framework" plain "$base_rps" "1.00" "$base_p50" "$base_p99"
    for route in jwt opaque; do
        if [ "$route" = jwt ]; then header="Authorization: JWT $jwt"; else header="Authorization: Bearer $opaque"; fi
        read -r rps p50 p99 < <(measure "$route" "$header")
        ratio=$(awk -v a="$rps" -v b="$base_rps" 'BEGIN {printf "%.2f", a / b}')
        printf '%-7s %-8s %12.0f %8s %9s %9s\n' "$framework" "$route" "$rps" "$ratio" "$p50" "$p99"
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    trap - EXIT
done
