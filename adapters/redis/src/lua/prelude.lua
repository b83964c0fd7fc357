-- Shared by every script. ARGV[1] is the key prefix, ARGV[2] the store clock's "now" in
-- milliseconds since the UNIX epoch; RETENTION (FAMILY_RETENTION in ms) and TOUCH_GRANULARITY
-- are defined above this text by the Rust side. Keys are derived from the prefix here rather than passed in KEYS,
-- because revoking a user or a family touches records only known inside the script: the scripts
-- need a standalone (or Sentinel-managed) Redis, not Redis Cluster.
local P = ARGV[1]
local NOW = tonumber(ARGV[2])

local function fmt(n) return string.format('%.0f', n) end
local function rec_key(hex) return P .. 't:' .. hex end
local function user_key(uid) return P .. 'u:' .. uid end
local function fam_key(fam) return P .. 'f:' .. fam end
local function revfam_key(fam) return P .. 'rf:' .. fam end

-- A record's fields, in the order the Rust side decodes them (missing fields are false).
local function fields(hex)
  return redis.call('HMGET', rec_key(hex), 'exp', 'rot', 'uid', 'fam', 'idle', 'rec')
end

-- Stored, not expired by the store's clock, not rotated away.
local function is_live(f)
  return f[1] and tonumber(f[1]) > NOW and not f[2]
end

-- Makes `key` live at least `ttl` ms more; never shortens it.
local function extend(key, ttl)
  if ttl < 1 then ttl = 1 end
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, fmt(ttl)) end
end

-- Adds `hex` to an index (score: its expiry), dropping entries that expired meanwhile so an
-- index does not grow with use; the index lives as long as its longest member.
local function add_to_index(key, exp, hex)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', fmt(NOW))
  redis.call('ZADD', key, fmt(exp), hex)
  extend(key, exp - NOW)
end

-- Writes a record and its index entries; the record key gets its TTL in this same script.
local function write(hex, exp, uid, fam, idle, rec)
  local key = rec_key(hex)
  exp = tonumber(exp)
  local args = {'exp', fmt(exp), 'uid', uid, 'rec', rec}
  if fam ~= '' then args[#args + 1] = 'fam'; args[#args + 1] = fam end
  if idle ~= '' then args[#args + 1] = 'idle'; args[#args + 1] = idle end
  redis.call('HSET', key, unpack(args))
  local ttl = exp - NOW
  if ttl < 1 then ttl = 1 end
  redis.call('PEXPIRE', key, fmt(ttl))
  add_to_index(user_key(uid), exp, hex)
  if fam ~= '' then add_to_index(fam_key(fam), exp, hex) end
end

-- Deletes a record and its index entries; returns its fields, or nil when there was none.
local function unlink(hex)
  local f = fields(hex)
  if not f[1] then return nil end
  redis.call('DEL', rec_key(hex))
  if f[3] then redis.call('ZREM', user_key(f[3]), hex) end
  if f[4] then redis.call('ZREM', fam_key(f[4]), hex) end
  return f
end

-- Deletes every record of a family and lists the family as revoked until its last record would
-- have expired, at least RETENTION from now. Returns how many records were live.
local function revoke_family(fam)
  local members = redis.call('ZRANGE', fam_key(fam), 0, -1)
  local until_ = NOW + RETENTION
  local live = 0
  for _, hex in ipairs(members) do
    local f = unlink(hex)
    if f then
      local exp = tonumber(f[1])
      if exp > until_ then until_ = exp end
      if is_live(f) then live = live + 1 end
    end
  end
  redis.call('DEL', fam_key(fam))
  local key = revfam_key(fam)
  local listed = tonumber(redis.call('GET', key) or '0') or 0
  if listed > until_ then until_ = listed end
  redis.call('SET', key, fmt(until_), 'PX', fmt(until_ - NOW))
  return live
end
