-- Moves due retries into the work stream. Members are delivery ids; the job
-- fields live in the hash <retries>:job:<delivery id>.
-- KEYS: retries, work. ARGV: now, limit. Returns how many.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  local job = redis.call('HGETALL', KEYS[1] .. ':job:' .. id)
  redis.call('DEL', KEYS[1] .. ':job:' .. id)
  if #job > 0 then
    redis.call('XADD', KEYS[2], '*', 'kind', 'retry', unpack(job))
  end
end
return #due
