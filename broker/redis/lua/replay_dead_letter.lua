-- Replays one dead-lettered delivery, once (broker/redis/dead_letters.hpp).
-- Runs after prelude_now.lua.
-- KEYS: deadletter stream, replay marker, device, delivery record, work
-- stream, schedule-change stream. ARGV: entry id, marker ttl, record ttl,
-- then the retry entry's field/value pairs (its `due` becomes now).
-- Returns {state, work id}: replayed, already_replayed, not_found, device_gone.
local marker = redis.call('GET', KEYS[2])
if marker then return {'already_replayed', marker} end
if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then return {'not_found', ''} end
if redis.call('EXISTS', KEYS[3]) == 0 then return {'device_gone', ''} end
local due = string.format('%.0f', now)
local fields = {unpack(ARGV, 4)}
for i = 1, #fields, 2 do
  if fields[i] == 'due' then fields[i + 1] = due end
end
local wid = redis.call('XADD', KEYS[5], '*', unpack(fields))
redis.call('SET', KEYS[4], 'retry', 'EX', ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], wid, 'EX', ARGV[2])
redis.call('XADD', KEYS[6], 'MAXLEN', '~', 1000, '*', 'due', due)
return {'replayed', wid}
