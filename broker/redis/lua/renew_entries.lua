-- Resets the idle time of the work entries this consumer still owns
-- (XCLAIM JUSTID does not count a delivery); one taken over meanwhile stays
-- with its new owner.
-- KEYS: work. ARGV: group, consumer, stream ids. Returns how many it owns.
local n = 0
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    n = n + 1
  end
end
return n
