-- ARGV[3] old hash, [4] new hash, then the new record as for put: [5] expiry ms, [6] user id,
-- [7] family or '', [8] idle ms or '', [9] body.
-- Returns {'rotated'}, {'notfound'}, {'conflict'} or {'reused', user id[, family]}.
local old = ARGV[3]
local f = fields(old)
if not f[1] or tonumber(f[1]) <= NOW then return {'notfound'} end
if f[2] then
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
redis.call('HSET', rec_key(old), 'rot', '1')
write(new, ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
return {'rotated'}
