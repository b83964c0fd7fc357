-- ARGV[3] hash, [4] expiry ms, [5] user id, [6] family or '', [7] idle ms or '', [8] body.
-- Returns 1 when stored, 0 when a live (or rotated, unexpired) record has the hash.
local hex = ARGV[3]
local current = redis.call('HGET', rec_key(hex), 'exp')
if current and tonumber(current) > NOW then return 0 end
unlink(hex)
write(hex, ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
return 1
