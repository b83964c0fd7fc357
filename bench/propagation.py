#!/usr/bin/env python3
"""How fast a logout on one instance is refused by another (issue 12; BENCHMARKS.md, "Logout
across instances"). Standard library only.

Two release-built demos share PostgreSQL users and Redis tokens, both with the read cache on
(so the second instance holds the token in memory): instance A on axum, B on actix-web. Each
trial logs in on A, has B accept the token (and cache it), logs out on A, then polls B as fast
as one keep-alive connection allows until B refuses the token. The delay is counted from the
moment A's logout answer arrived. Run through bench/propagation.sh, which starts the services.

    bench/propagation.sh                  # 200 trials per dialect
    TRIALS=1000 bench/propagation.sh
"""

import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import time

DEMO = os.environ["DEMO"]
USERS = os.environ["USERS_URL"]
TOKENS = os.environ["TOKENS_URL"]
TRIALS = int(os.environ.get("TRIALS", "200"))
PORTS = (int(os.environ.get("PORT_A", "8094")), int(os.environ.get("PORT_B", "8095")))


def start(framework, port, log):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHMOUNT_")}
    env["AUTHMOUNT_JWT_SECRET"] = "propagation-benchmark-secret-of-32-bytes!"
    process = subprocess.Popen(
        [DEMO, "--framework", framework, "--addr", f"127.0.0.1:{port}", "--users", USERS, "--tokens", TOKENS],
        stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env)
    for _ in range(600):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/api/meldeschein/schema/meta/")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit(f"{framework} demo did not start; see {log}")


class Client:
    def __init__(self, port):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def call(self, method, path, body=None, headers=None):
        self.connection.request(method, path, body=body, headers=headers or {})
        response = self.connection.getresponse()
        return response.status, response.getheaders(), response.read()


def minisass_trial(a, b, password):
    status, _, body = a.call("POST", "/authentication/api/login/",
                             json.dumps({"email": "demo@example.org", "password": password}),
                             {"Content-Type": "application/json"})
    assert status == 200, (status, body)
    access = json.loads(body)["access_token"]
    auth = {"Authorization": f"Bearer {access}"}
    assert b.call("GET", "/api/whoami", headers=auth)[0] == 200
    status, _, body = a.call("POST", "/authentication/api/logout/", headers=auth)
    assert status == 200, (status, body)
    return auth


def tdar_trial(a, b, password):
    status, headers, body = a.call("POST", "/api/login",
                                   f"userLogin.loginUsername=demo&userLogin.loginPassword={password}",
                                   {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, (status, body)
    cookie = next(v for k, v in headers if k.lower() == "set-cookie").split(";")[0]
    auth = {"Cookie": cookie}
    assert b.call("GET", "/api/whoami", headers=auth)[0] == 200
    status, _, body = a.call("POST", "/api/logout", headers=auth)
    assert status == 200, (status, body)
    return auth


def measure(name, trial, a, b, password):
    delays = []
    for _ in range(TRIALS):
        auth = trial(a, b, password)
        start = time.perf_counter()
        polls = 0
        while b.call("GET", "/api/whoami", headers=auth)[0] == 200:
            polls += 1
            if time.perf_counter() - start > 5:
                sys.exit(f"{name}: B still accepts the token 5 s after the logout")
        delays.append((time.perf_counter() - start) * 1000)
    delays.sort()
    p90 = delays[int(len(delays) * 0.9) - 1]
    print(f"{name:<32} {len(delays):>6} {statistics.median(delays):>10.2f} {p90:>10.2f} {delays[-1]:>10.2f}")


def main():
    a_process = start("axum", PORTS[0], os.environ.get("LOG_A", "/tmp/propagation-a.log"))
    try:
        log = open(os.environ.get("LOG_A", "/tmp/propagation-a.log")).read()
        found = re.search(r"^  password: (\S+)$", log, re.M)
        if not found:
            sys.exit("the first demo printed no demo password (are the stores empty?)")
        password = found.group(1)
        b_process = start("actix", PORTS[1], os.environ.get("LOG_B", "/tmp/propagation-b.log"))
        try:
            a, b = Client(PORTS[0]), Client(PORTS[1])
            print(f"logout on A (axum) refused by B (actix-web); users {USERS.split('@')[-1]}, tokens {TOKENS}")
            print(f"{'dialect':<32} {'trials':>6} {'median ms':>10} {'p90 ms':>10} {'worst ms':>10}")
            measure("miniSASS JWT (family revoked)", minisass_trial, a, b, password)
            measure("tDAR cookie session (revoked)", tdar_trial, a, b, password)
        finally:
            b_process.terminate()
            b_process.wait()
    finally:
        a_process.terminate()
        a_process.wait()


if __name__ == "__main__":
    main()
