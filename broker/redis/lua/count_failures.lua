-- KEYS: failures hash. ARGV: stream ids whose processing failed.
for _, id in ipairs(ARGV) do redis.call('HINCRBY', KEYS[1], id, 1) end
return #ARGV
