-- wrk script: each connection waits PACE_MS (default 2) milliseconds between requests, so the
-- load is a steady rate below saturation (about connections / (PACE_MS + latency) per second)
-- and the latency wrk reports is the server's, not the length of a queue wrk itself built.
local pace = tonumber(os.getenv("PACE_MS") or "2")
function delay()
    return pace
end
