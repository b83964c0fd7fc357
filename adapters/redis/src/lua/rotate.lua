-- ARGV[3] old hash, [4] new hash, then the new record as for put: [5] expiry ms, [6] user id,
-- [7] family or '', [8] idle ms or '', [9] body; [10] the reuse grace period in ms.
-- Returns {'rotated'}, {'notfound'}, {'conflict'}, {'grace'} (the spent record is left as it
-- is, nothing is stored) or {'reused', user id[, family]}.
local old = ARGV[3]
local f = fields(old)
if not f[1] or tonumber(f[1]) <= NOW then return {'notfound'} end
if f[2] then
  -- `rot` holds when the token was rotated ('1' from before grace periods: long ago).
  if NOW - (tonumber(f[2]) or 0) < tonumber(ARGV[10]) then return {'grace'} end
  -- A replay of a spent token: revoke the whole family, the successor included.
  if f[4] then revoke_family(f[4]) else unlink(old) end
  if f[4] then return {'reused', f[3], f[4]} end
  return {'reused', f[3]}
end
local new = ARGV[4]
local current = redis.call('HGET', rec_key(new), 'exp')
if current and tonumber(current) > NOW then return {'conflict'} end
unlink(new)
-- Spent, but kept until it expires so a replay is recognised (HSET keeps the key's TTL).
redis.call('HSET', rec_key(old), 'rot', fmt(NOW))
write(new, ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
return {'rotated'}
