-- ARGV[3] mode: 'u' (user indexes), 'f' (family indexes) or 'r' (revocation entries);
-- ARGV[4..] full key names found by SCAN. Returns how many records or entries were removed.
local mode = ARGV[3]
local removed = 0
for i = 4, #ARGV do
  local key = ARGV[i]
  if mode == 'r' then
    local v = redis.call('GET', key)
    if v and (tonumber(v) or 0) <= NOW then
      redis.call('DEL', key)
      removed = removed + 1
    end
  else
    local due = redis.call('ZRANGEBYSCORE', key, '-inf', fmt(NOW))
    for _, hex in ipairs(due) do
      local exp = redis.call('HGET', rec_key(hex), 'exp')
      if not exp then
        -- Redis already expired the record: drop the stale index entry.
        redis.call('ZREM', key, hex)
        if mode == 'u' then removed = removed + 1 end
      elseif tonumber(exp) <= NOW then
        unlink(hex)
        removed = removed + 1
      else
        redis.call('ZADD', key, exp, hex)
      end
    end
  end
end
return removed
