-- Acknowledges work entries, removes them from the stream and forgets their
-- failure counts. KEYS: work, failures hash. ARGV: group, stream ids.
-- Returns how many.
--
-- Removal: everything older than the oldest entry still pending (or, with
-- nothing pending, than the group's last delivered entry) is done, and one
-- XTRIM MINID drops it, whole stream nodes at a time. Only the ids at or
-- above that floor (a batch acknowledged before an older one) are deleted
-- one by one, as XDEL, which costs a lookup and a node rewrite per id.
local ids = {unpack(ARGV, 2)}
redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
redis.call('HDEL', KEYS[2], unpack(ids))

local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end

local floor = redis.call('XPENDING', KEYS[1], ARGV[1])[2]
if not floor then
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    local name, last
    for j = 1, #g, 2 do
      if g[j] == 'name' then name = g[j + 1] elseif g[j] == 'last-delivered-id' then last = g[j + 1] end
    end
    if name == ARGV[1] then floor = last end
  end
end
if not floor then
  redis.call('XDEL', KEYS[1], unpack(ids))
  return #ids
end
redis.call('XTRIM', KEYS[1], 'MINID', floor)
local fms, fseq = parse(floor)
local rest = {}
for _, id in ipairs(ids) do
  local ms, seq = parse(id)
  if ms > fms or (ms == fms and seq >= fseq) then rest[#rest + 1] = id end
end
if #rest > 0 then redis.call('XDEL', KEYS[1], unpack(rest)) end
return #ids
