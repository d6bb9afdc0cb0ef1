-- Claims delivery records before a send, by the rules of decide_claim
-- (broker/delivery_lease.hpp). Runs after prelude_now.lua.
-- KEYS: delivery records. ARGV: consumer, lease ms, ttl, retrying (1/0).
-- Per key: 1 = go (now held by the consumer until now + lease), 0 = done
-- (final, or `retry` outside the retry job), 2 = held (another lease runs).
-- An absent record (every first send) is claimed in one SET NX; only an
-- existing one is read and judged.
local value = 'sending:' .. ARGV[1] .. ':' .. string.format('%.0f', now + tonumber(ARGV[2]))
local out = {}
for i, key in ipairs(KEYS) do
  local d = 1
  if not redis.call('SET', key, value, 'NX', 'EX', ARGV[3]) then
    local v = redis.call('GET', key)
    if v then
      if v == 'retry' then
        if ARGV[4] ~= '1' then d = 0 end
      elseif string.sub(v, 1, 8) == 'sending:' then
        local lease = tonumber(string.match(v, ':(%d+)$') or '0')
        if lease > now then d = 2 end
      else
        d = 0
      end
    end
    if d == 1 then redis.call('SET', key, value, 'EX', ARGV[3]) end
  end
  out[i] = d
end
return out
