-- ARGV[3] user id. Deletes the user's records and revokes their families; returns how many
-- records were live.
local key = user_key(ARGV[3])
local members = redis.call('ZRANGE', key, 0, -1)
local families = {}
local live = 0
for _, hex in ipairs(members) do
  local f = unlink(hex)
  if f then
    if is_live(f) then live = live + 1 end
    if f[4] then families[f[4]] = true end
  end
end
redis.call('DEL', key)
for fam, _ in pairs(families) do
  live = live + revoke_family(fam)
end
return live
