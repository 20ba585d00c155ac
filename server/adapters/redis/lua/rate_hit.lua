--[[
  Counts one hit in a fixed-window rate-limit bucket.

  KEYS[1] the bucket: <prefix>rl:<name>:<sha256 of the identity> (never a raw cookie, key or e-mail)
  ARGV[1] window length in milliseconds

  Returns { hits in the current window (this one included), milliseconds until the window ends }.
  The window starts at the first hit; the key expires with it, so idle buckets cost nothing.
]]
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if n == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { n, ttl }
