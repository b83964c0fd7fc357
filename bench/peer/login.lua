-- wrk script: SimpleJWT's token view, as a user whose password is right.
wrk.method = "POST"
wrk.path = "/api/token/"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"bench","password":"bench-correct-horse-battery-staple"}'
