-- Acknowledges and deletes work entries and forgets their failure counts.
-- KEYS: work, failures hash. ARGV: group, stream ids. Returns how many.
local ids = {unpack(ARGV, 2)}
redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
redis.call('XDEL', KEYS[1], unpack(ids))
redis.call('HDEL', KEYS[2], unpack(ids))
return #ids
