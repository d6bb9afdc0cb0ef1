-- Whether a record value is `sending:<ARGV[1]>:<digits>` (held by this consumer).
local mine = 'sending:' .. ARGV[1] .. ':'
local function held_by_me(v) return v and string.sub(v, 1, #mine) == mine and string.match(string.sub(v, #mine + 1), '^%d+$') ~= nil end
