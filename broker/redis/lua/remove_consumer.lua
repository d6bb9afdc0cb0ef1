-- Removes a consumer from the group when it owns no pending entry (atomic:
-- it cannot have read one in between).
-- KEYS: work. ARGV: group, consumer. Returns -1 when it still owns entries.
local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #p > 0 then return -1 end
return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
