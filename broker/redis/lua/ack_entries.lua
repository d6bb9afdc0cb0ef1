-- Acknowledges work entries, removes them from the stream and forgets their
-- failure counts. KEYS: work, failures hash. ARGV: group, stream ids.
-- Returns how many.
--
-- Removal: everything older than the oldest entry still pending is done,
-- and one XTRIM MINID drops it, whole stream nodes at a time. With nothing
-- pending, every entry up to the newest one acknowledged here was read and
-- acknowledged (entries not yet read are newer than any read one). Only the
-- ids at or above that floor (a batch acknowledged before an older one)
-- are deleted one by one, as XDEL, which costs a lookup and a node rewrite
-- per id.
local ids = {unpack(ARGV, 2)}
redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
redis.call('HDEL', KEYS[2], unpack(ids))

local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function at_or_above(ms, seq, fms, fseq) return ms > fms or (ms == fms and seq >= fseq) end

local floor = redis.call('XPENDING', KEYS[1], ARGV[1])[2]
local fms, fseq
if floor then
  fms, fseq = parse(floor)
else
  fms, fseq = parse(ids[1])
  for i = 2, #ids do
    local ms, seq = parse(ids[i])
    if at_or_above(ms, seq, fms, fseq) then fms, fseq = ms, seq end
  end
  floor = string.format('%.0f-%.0f', fms, fseq)
end
redis.call('XTRIM', KEYS[1], 'MINID', floor)
local rest = {}
for _, id in ipairs(ids) do
  local ms, seq = parse(id)
  if at_or_above(ms, seq, fms, fseq) then rest[#rest + 1] = id end
end
if #rest > 0 then redis.call('XDEL', KEYS[1], unpack(rest)) end
return #ids
