--[[
  Reserves capacity on a departure for a hold that is about to be written to Postgres.
  Decides admission atomically, so that only requests that can fit reach Postgres.

  KEYS[1] availability hash of the departure ({c:<corridorId>} hash tag keeps a corridor on one slot)
  ARGV[1] listing id
  ARGV[2] TEU requested (integer > 0)
  ARGV[3] tonnes requested (integer >= 0)
  ARGV[4] now, epoch milliseconds (server clock)

  Hash fields: cap_teu, cap_t, used_teu, used_t (committed in Postgres, last seq applied),
  pend_teu, pend_t (in flight), cutoff_ms, seq, gen (load generation),
  lrem:<listingId> (listing remaining in Postgres), lpend:<listingId> (listing in flight).

  Returns { 'ok', gen } | { 'miss' } (not loaded: load from Postgres and retry) |
          { 'past_cutoff' } | { 'listing_closed' } | { 'insufficient_capacity' }
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return { 'miss' } end
local h = redis.call('HMGET', KEYS[1], 'cap_teu', 'cap_t', 'used_teu', 'used_t', 'pend_teu', 'pend_t', 'cutoff_ms', 'gen',
  'lrem:' .. ARGV[1], 'lpend:' .. ARGV[1])
local teu, t, now = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if now >= tonumber(h[7]) then return { 'past_cutoff' } end
if not h[9] then return { 'listing_closed' } end
local lrem = tonumber(h[9]) - tonumber(h[10] or '0')
if lrem < teu
  or tonumber(h[3]) + tonumber(h[5]) + teu > tonumber(h[1])
  or tonumber(h[4]) + tonumber(h[6]) + t > tonumber(h[2]) then
  return { 'insufficient_capacity' }
end
redis.call('HINCRBY', KEYS[1], 'pend_teu', teu)
redis.call('HINCRBY', KEYS[1], 'pend_t', t)
redis.call('HINCRBY', KEYS[1], 'lpend:' .. ARGV[1], teu)
return { 'ok', h[8] }
