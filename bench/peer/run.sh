#!/usr/bin/env bash
# Issue 8 (d): the peer, Django + DRF + SimpleJWT in a virtualenv from PyPI, served by gunicorn
# (workers = cores) on 127.0.0.1, driven by wrk with the settings of bench/run.sh. Prints the
# protected route's and the token view's requests/s (and p50/p99).
#
#   bench/peer/run.sh          # DURATION=5s CONNECTIONS=64 LOGIN_CONNECTIONS=8, port 8092
set -euo pipefail
cd "$(dirname "$0")"

DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-64}
LOGIN_CONNECTIONS=${LOGIN_CONNECTIONS:-8}
ADDR=${PEER_ADDR:-127.0.0.1:8092}
VENV=${PEER_VENV:-.venv}

if ! command -v wrk >/dev/null; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
if [ ! -x "$VENV/bin/gunicorn" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r requirements.txt
fi
work=$(mktemp -d)
export PEER_DB="$work/peer.sqlite3"
"$VENV/bin/python" manage.py migrate -v0
"$VENV/bin/python" manage.py shell -c \
    "from django.contrib.auth.models import User; User.objects.create_user('bench', password='bench-correct-horse-battery-staple')"

"$VENV/bin/gunicorn" -w "$(nproc)" -b "$ADDR" peer.wsgi:application >"$work/gunicorn.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://$ADDR/protected/" && break; sleep 0.1; done

access=$(curl -s -H 'Content-Type: application/json' \
    -d '{"username":"bench","password":"bench-correct-horse-battery-staple"}' "http://$ADDR/api/token/" |
    "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["access"])')

measure() { # connections path [wrk args...]
    local c=$1 path=$2; shift 2
    local out
    out=$(wrk -t1 -c"$c" -d"$DURATION" --latency "$@" "http://$ADDR$path")
    if grep -q -e "Non-2xx" <<<"$out"; then echo "non-2xx on $path:" >&2; echo "$out" >&2; exit 1; fi
    printf '%10s  p50 %8s  p99 %8s\n' "$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")" \
        "$(awk '$1 == "50%" {print $2}' <<<"$out")" "$(awk '$1 == "99%" {print $2}' <<<"$out")"
}
echo "peer (Django + DRF + SimpleJWT, gunicorn -w $(nproc)): req/s"
printf '%-22s' "protected (JWT)"; measure "$CONNECTIONS" /protected/ -H "Authorization: Bearer $access"
printf '%-22s' "token (login)"; measure "$LOGIN_CONNECTIONS" /api/token/ -s login.lua
