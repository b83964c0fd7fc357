-- ARGV[3] user id; ARGV[4], when present, a family to spare. Deletes the user's records (but
-- the spared family's) and revokes their families; returns how many records were live.
local key = user_key(ARGV[3])
local keep = ARGV[4]
local members = redis.call('ZRANGE', key, 0, -1)
local families = {}
local live = 0
for _, hex in ipairs(members) do
  local f = fields(hex)
  if f[1] and not (keep and f[4] == keep) then
    unlink(hex)
    if is_live(f) then live = live + 1 end
    if f[4] then families[f[4]] = true end
  end
end
if not keep then redis.call('DEL', key) end
for fam, _ in pairs(families) do
  live = live + revoke_family(fam)
end
return live
