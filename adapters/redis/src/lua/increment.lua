-- ARGV[3] counter name, [4] window ms. Returns {count, window end ms}.
local key = P .. 'c:' .. ARGV[3]
local window = tonumber(ARGV[4])
local v = redis.call('GET', key)
local n, exp
if v then
  local sep = string.find(v, ':', 1, true)
  if sep then
    n = tonumber(string.sub(v, 1, sep - 1))
    exp = tonumber(string.sub(v, sep + 1))
  end
end
if n and exp and exp > NOW then
  n = n + 1
  redis.call('SET', key, fmt(n) .. ':' .. fmt(exp), 'KEEPTTL')
else
  n = 1
  exp = NOW + window
  local ttl = window
  if ttl < 1 then ttl = 1 end
  redis.call('SET', key, '1:' .. fmt(exp), 'PX', fmt(ttl))
end
return {n, exp}
