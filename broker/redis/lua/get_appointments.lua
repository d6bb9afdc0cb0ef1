-- KEYS: appointment hashes. Returns {json, rev} per key (nils for a missing one).
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HMGET', key, 'json', 'rev') end
return out
