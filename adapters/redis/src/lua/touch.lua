-- ARGV[3] hash. Returns the live record's fields, or nil. A sliding record's expiry moves to
-- NOW + idle, but is written only when that moves it by at least idle / TOUCH_GRANULARITY (the
-- rule of `TokenRecord::slid_expiry`): most touches of a busy session are then reads.
local hex = ARGV[3]
local f = fields(hex)
if not is_live(f) then return false end
if f[5] then
  local idle = tonumber(f[5])
  local exp = NOW + idle
  local moved = exp - tonumber(f[1])
  if moved > 0 and moved >= idle / TOUCH_GRANULARITY then
    local key = rec_key(hex)
    redis.call('HSET', key, 'exp', fmt(exp))
    local ttl = idle
    if ttl < 1 then ttl = 1 end
    redis.call('PEXPIRE', key, fmt(ttl))
    add_to_index(user_key(f[3]), exp, hex)
    if f[4] then add_to_index(fam_key(f[4]), exp, hex) end
    f[1] = fmt(exp)
  end
end
return f
