#!/usr/bin/env bash
# Issue 8 (d): the peer, Django + DRF + SimpleJWT in a virtualenv from PyPI, served by gunicorn
# (workers = cores) on 127.0.0.1, driven by wrk with the settings of bench/run.sh. Prints the
# protected route's and the token view's requests/s, p50/p99 and the server's CPU microseconds
# per request (gunicorn's master and workers). bench/run.sh runs it for its (d) rows with RAW=1
# (one line per scenario: name req/s p50ms p99ms cpu_us) and, with PIN=1, the same pinning.
#
#   bench/peer/run.sh          # DURATION=5s CONNECTIONS=64 LOGIN_CONNECTIONS=8, port 8092
set -euo pipefail
cd "$(dirname "$0")"

DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-64}
LOGIN_CONNECTIONS=${LOGIN_CONNECTIONS:-8}
ADDR=${PEER_ADDR:-127.0.0.1:8092}
VENV=${PEER_VENV:-.venv}
RAW=${RAW:-0}
PIN=${PIN:-0}
server_pin=() wrk_pin=()
if [ "$PIN" = 1 ]; then server_pin=(taskset -c 0) wrk_pin=(taskset -c 1); fi

if ! command -v wrk >/dev/null; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
if [ ! -x "$VENV/bin/gunicorn" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r requirements.txt
fi
work=$(mktemp -d)
export PEER_DB="$work/peer.sqlite3"
"$VENV/bin/python" manage.py migrate -v0
"$VENV/bin/python" manage.py shell -c \
    "from django.contrib.auth.models import User; User.objects.create_user('bench', password='bench-correct-horse-battery-staple')"

"${server_pin[@]}" "$VENV/bin/gunicorn" -w "$(nproc)" -b "$ADDR" peer.wsgi:application >"$work/gunicorn.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://$ADDR/protected/" && break; sleep 0.1; done

access=$(curl -s -H 'Content-Type: application/json' \
    -d '{"username":"bench","password":"bench-correct-horse-battery-staple"}' "http://$ADDR/api/token/" |
    "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["access"])')

# CPU ticks (user + system) of gunicorn's master and its workers.
ticks() {
    local total=0 p
    for p in "$pid" $(pgrep -P "$pid"); do
        total=$((total + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
    done
    echo "$total"
}
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n *= 1; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'; }

measure() { # name connections path [wrk args...]
    local name=$1 c=$2 path=$3; shift 3
    local out t0 t1
    t0=$(ticks)
    out=$("${wrk_pin[@]}" wrk -t1 -c"$c" -d"$DURATION" --latency "$@" "http://$ADDR$path")
    t1=$(ticks)
    if grep -q -e "Non-2xx" <<<"$out"; then echo "non-2xx on $path:" >&2; echo "$out" >&2; exit 1; fi
    local rps n p50 p99 cpu
    rps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
    cpu=$(awk -v d=$((t1 - t0)) -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", d / hz * 1e6 / n}')
    if [ "$RAW" = 1 ]; then
        echo "$name $rps $p50 $p99 $cpu"
    else
        printf '%-18s %8s req/s  p50 %8s ms  p99 %8s ms  cpu %9s us/req\n' "$name" "$rps" "$p50" "$p99" "$cpu"
    fi
}
[ "$RAW" = 1 ] || echo "peer (Django + DRF + SimpleJWT, gunicorn -w $(nproc)):"
measure protected "$CONNECTIONS" /protected/ -H "Authorization: Bearer $access"
measure token "$LOGIN_CONNECTIONS" /api/token/ -s login.lua
