-- What the schedules hold, in one round trip.
-- KEYS: alarms, retries. ARGV: now.
-- Returns {alarms due by now, retries waiting, earliest alarm due or '', earliest retry due or ''}.
local function earliest(key)
  local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if #first < 2 then return '' end
  return first[2]
end
return {redis.call('ZCOUNT', KEYS[1], '-inf', ARGV[1]), redis.call('ZCARD', KEYS[2]), earliest(KEYS[1]), earliest(KEYS[2])}
