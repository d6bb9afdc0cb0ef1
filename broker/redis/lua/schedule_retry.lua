-- Schedules a retry and sets the record to `retry`, only while the consumer
-- holds it. Runs after prelude_mine.lua.
-- KEYS: retries, job hash, delivery record. ARGV: consumer, delivery id, at,
-- ttl, then field/value pairs. Returns 1 when written.
if not held_by_me(redis.call('GET', KEYS[3])) then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 5))
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
redis.call('SET', KEYS[3], 'retry', 'EX', ARGV[4])
return 1
