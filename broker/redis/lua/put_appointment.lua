-- Stores an appointment; bumps its revision and (re)schedules or cancels
-- its alarm when its timing changed, and tells the other daemons.
-- KEYS: appt, alarms, changes. ARGV: id, json, timing, due ("" = no alarm).
-- Returns {revision, changed (1/0), created (1/0)}.
local old = redis.call('HGET', KEYS[1], 'timing')
local rev = tonumber(redis.call('HGET', KEYS[1], 'rev') or '0')
local changed = (old ~= ARGV[3])
if changed then rev = rev + 1 end
redis.call('HSET', KEYS[1], 'json', ARGV[2], 'rev', rev, 'timing', ARGV[3])
if changed then
  if ARGV[4] ~= '' then
    redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', 1000, '*', 'due', ARGV[4])
  else
    redis.call('ZREM', KEYS[2], ARGV[1])
  end
end
local created = 0
if not old then created = 1 end
return {rev, changed and 1 or 0, created}
