-- Moves due alarms and due retries from the schedules into the work stream,
-- then reads the stream for the consumer (the caller saves a round trip).
-- KEYS: alarms, retries, work. ARGV: now, limit (each), appointment key
-- prefix, read count, group, consumer.
-- Returns {alarms moved, retries moved, entries XREADGROUP gave the
-- consumer}, or the error text in place of the entries when the read failed
-- (NOGROUP: the stream was deleted, the group must be made again).
local now, limit = ARGV[1], tonumber(ARGV[2])

-- Alarms: members are appointment ids, scores due times. An appointment
-- removed meanwhile (no revision) is dropped from the schedule unsent.
local alarms = 0
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
if #due > 0 then
  local ids = {}
  for i = 1, #due, 2 do ids[#ids + 1] = due[i] end
  redis.call('ZREM', KEYS[1], unpack(ids))  -- one command for the batch (the limit keeps unpack small)
  for i = 1, #due, 2 do
    local id = due[i]
    local rev = redis.call('HGET', ARGV[3] .. id, 'rev')
    if rev then
      redis.call('XADD', KEYS[3], '*', 'kind', 'alarm', 'id', id, 'rev', rev, 'due', due[i + 1])
      alarms = alarms + 1
    end
  end
end

-- Retries: members are delivery ids; the job fields live in the hash
-- <retries>:job:<delivery id>.
local retries = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)
for _, id in ipairs(retries) do
  redis.call('ZREM', KEYS[2], id)
  local job = redis.call('HGETALL', KEYS[2] .. ':job:' .. id)
  redis.call('DEL', KEYS[2] .. ':job:' .. id)
  if #job > 0 then
    redis.call('XADD', KEYS[3], '*', 'kind', 'retry', unpack(job))
  end
end
local read = redis.pcall('XREADGROUP', 'GROUP', ARGV[5], ARGV[6], 'COUNT', ARGV[4], 'STREAMS', KEYS[3], '>')
if type(read) == 'table' and read.err then return {alarms, #retries, read.err} end
if not read then return {alarms, #retries, {}} end
return {alarms, #retries, read[1][2]}
