#!/usr/bin/env python3
"""bench/redis-invalidation.py [PORT]: propagation delay of a change to a second Redis connection: pub/sub message vs RESP3
client-side-caching invalidation push (CLIENT TRACKING). Raw RESP over sockets, stdlib only."""
import socket, time, statistics, sys

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 6379

def conn():
    s = socket.create_connection(("127.0.0.1", PORT)); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1); return s

def send(s, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    s.sendall(out)

class Reader:
    def __init__(self, s): self.s, self.buf = s, b""
    def line(self):
        while b"\r\n" not in self.buf: self.buf += self.s.recv(65536)
        l, self.buf = self.buf.split(b"\r\n", 1); return l
    def read(self):
        l = self.line(); t = l[:1]
        if t in b"+-:_#,(": return l
        if t in b"$=!":
            n = int(l[1:])
            if n < 0: return None
            while len(self.buf) < n + 2: self.buf += self.s.recv(65536)
            d, self.buf = self.buf[:n], self.buf[n+2:]; return d
        if t in b"*>~%|":
            n = int(l[1:]); m = 2 if t in b"%|" else 1
            return [t] + [self.read() for _ in range(n * m)]
        raise ValueError(l)

N = 2000
# pub/sub
sub, pub = conn(), conn(); rs, rp = Reader(sub), Reader(pub)
send(sub, "SUBSCRIBE", "bench-chan"); rs.read()
pubsub = []
for i in range(N):
    t0 = time.perf_counter(); send(pub, "PUBLISH", "bench-chan", "t %d" % i); rs.read(); pubsub.append((time.perf_counter() - t0) * 1e6); rp.read()
# tracking
tr, wr = conn(), conn(); rt, rw = Reader(tr), Reader(wr)
send(tr, "HELLO", "3"); rt.read(); send(tr, "CLIENT", "TRACKING", "ON"); rt.read()
track = []
for i in range(N):
    key = "bench-key-%d" % i
    send(tr, "GET", key); rt.read()          # now tracked
    t0 = time.perf_counter(); send(wr, "SET", key, "x"); 
    while True:
        m = rt.read()
        if isinstance(m, list) and m[0] == b">": break
    track.append((time.perf_counter() - t0) * 1e6); rw.read()
send(wr, "DEL", *["bench-key-%d" % i for i in range(N)]); rw.read()
for name, xs in (("pub/sub (PUBLISH -> subscriber)", pubsub), ("CLIENT TRACKING (SET -> invalidate push)", track)):
    xs.sort(); print(f"{name:<42} median {statistics.median(xs):7.1f} us  p99 {xs[int(len(xs)*0.99)]:7.1f} us  max {xs[-1]:8.1f} us")
