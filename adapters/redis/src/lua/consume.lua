-- ARGV[3] hash. Takes a live record: returns its fields and deletes it, or nil.
local f = fields(ARGV[3])
if not is_live(f) then return false end
unlink(ARGV[3])
return f
