-- ARGV[3] jti, [4] until (ms). Lists the JWT id as revoked until the later of the listed and the
-- given time; an entry already past is not written.
local key = P .. 'j:' .. ARGV[3]
local until_ = tonumber(ARGV[4])
local listed = tonumber(redis.call('GET', key) or '0') or 0
if listed > until_ then until_ = listed end
if until_ <= NOW then return 0 end
redis.call('SET', key, fmt(until_), 'PX', fmt(until_ - NOW))
return 1
