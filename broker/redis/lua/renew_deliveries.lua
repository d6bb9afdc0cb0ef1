-- Extends (or ends) the consumer's own leases. Runs after prelude_mine.lua
-- and prelude_now.lua.
-- KEYS: delivery records. ARGV: consumer, lease ms (0 = release: expires now).
-- Returns how many the consumer held.
local value = mine .. string.format('%.0f', now + tonumber(ARGV[2]))
local n = 0
for _, key in ipairs(KEYS) do
  if held_by_me(redis.call('GET', key)) then
    redis.call('SET', key, value, 'KEEPTTL')
    n = n + 1
  end
end
return n
