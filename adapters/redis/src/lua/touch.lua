-- ARGV[3] hash. Returns the live record's fields (expiry moved for a sliding record), or nil.
local hex = ARGV[3]
local f = fields(hex)
if not is_live(f) then return false end
if f[5] then
  local exp = NOW + tonumber(f[5])
  local key = rec_key(hex)
  redis.call('HSET', key, 'exp', fmt(exp))
  local ttl = tonumber(f[5])
  if ttl < 1 then ttl = 1 end
  redis.call('PEXPIRE', key, fmt(ttl))
  add_to_index(user_key(f[3]), exp, hex)
  if f[4] then add_to_index(fam_key(f[4]), exp, hex) end
  f[1] = fmt(exp)
end
return f
