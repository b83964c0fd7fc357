-- wrk script: POST AMCR's login (the bench-server's user, which always logs in successfully).
wrk.method = "POST"
wrk.path = "/api/token-auth/"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"bench","password":"bench-correct-horse-battery-staple"}'
