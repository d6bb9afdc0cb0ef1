-- Ends deliveries: writes the state only where the consumer still holds the
-- record (may_finish). Runs after prelude_mine.lua.
-- KEYS: delivery records. ARGV: consumer, state, ttl. Returns 1/0 per key.
local out = {}
for i, key in ipairs(KEYS) do
  if held_by_me(redis.call('GET', key)) then
    redis.call('SET', key, ARGV[2], 'EX', ARGV[3])
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
