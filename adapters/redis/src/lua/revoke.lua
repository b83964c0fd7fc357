-- ARGV[3] hash. Deletes the record; returns 1 when it was live.
local f = unlink(ARGV[3])
if f and is_live(f) then return 1 end
return 0
