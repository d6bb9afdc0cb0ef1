-- Moves due alarms from the schedule into the work stream.
-- KEYS: alarms, work. ARGV: now, limit, appointment key prefix. Returns how many.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
if #due == 0 then return 0 end
local ids = {}
for i = 1, #due, 2 do ids[#ids + 1] = due[i] end
redis.call('ZREM', KEYS[1], unpack(ids))  -- one command for the batch (the limit keeps unpack small)
local n = 0
for i = 1, #due, 2 do
  local id = due[i]
  local rev = redis.call('HGET', ARGV[3] .. id, 'rev')
  if rev then
    redis.call('XADD', KEYS[2], '*', 'kind', 'alarm', 'id', id, 'rev', rev, 'due', due[i + 1])
    n = n + 1
  end
end
return n
