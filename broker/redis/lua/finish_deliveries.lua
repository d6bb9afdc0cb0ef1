-- Ends deliveries: writes the state only where the consumer still holds the
-- record (may_finish). Runs after prelude_mine.lua.
-- KEYS: delivery records. ARGV: consumer, state, ttl. Returns 1/0 per key.
-- One SET XX GET per record: it writes and returns what was there; in the
-- rare case that was not this consumer's lease (taken over, or already
-- final), the old value is put back at once (the script runs atomically, so
-- nobody sees the overwrite; the put-back record gets a fresh ttl).
local out = {}
for i, key in ipairs(KEYS) do
  local old = redis.call('SET', key, ARGV[2], 'XX', 'GET', 'EX', ARGV[3])
  if held_by_me(old) then
    out[i] = 1
  else
    if old then redis.call('SET', key, old, 'EX', ARGV[3]) end
    out[i] = 0
  end
end
return out
