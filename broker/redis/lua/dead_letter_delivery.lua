-- Writes a dead letter and the record's final state together, only while
-- the consumer holds the record. Runs after prelude_mine.lua.
-- KEYS: deadletter stream, delivery record. ARGV: consumer, state, ttl,
-- maxlen, then field/value pairs. Returns 1 when written.
if not held_by_me(redis.call('GET', KEYS[2])) then return 0 end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', unpack(ARGV, 5))
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
return 1
