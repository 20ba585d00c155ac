--[[
  Ends an in-flight reservation (whatever Postgres decided) and, when Postgres committed a change,
  records the committed absolute values — but only if its seq is newer than what the hash holds, so
  out-of-order updates from several processes never move the cache backwards.

  KEYS[1] availability hash of the departure
  ARGV[1] gen returned by avail_reserve ('' when there was no reservation)
  ARGV[2] listing id ('' for none)
  ARGV[3] reserved TEU to un-pend (0 for none)
  ARGV[4] reserved tonnes to un-pend
  ARGV[5] committed departure seq (-1 when nothing was committed)
  ARGV[6] committed used TEU (held + booked)
  ARGV[7] committed used tonnes
  ARGV[8] committed remaining TEU of the listing ('' to leave as is; 'closed' to remove it)

  Returns 1 when the committed values were applied, 0 otherwise.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'gen') == ARGV[1] then
  local teu, t = tonumber(ARGV[3]), tonumber(ARGV[4])
  if teu > 0 or t > 0 then
    redis.call('HINCRBY', KEYS[1], 'pend_teu', -teu)
    redis.call('HINCRBY', KEYS[1], 'pend_t', -t)
    if ARGV[2] ~= '' then redis.call('HINCRBY', KEYS[1], 'lpend:' .. ARGV[2], -teu) end
  end
end
local seq = tonumber(ARGV[5])
if seq < 0 or seq <= tonumber(redis.call('HGET', KEYS[1], 'seq')) then return 0 end
redis.call('HSET', KEYS[1], 'seq', seq, 'used_teu', ARGV[6], 'used_t', ARGV[7])
if ARGV[2] ~= '' and ARGV[8] == 'closed' then
  redis.call('HDEL', KEYS[1], 'lrem:' .. ARGV[2], 'lpend:' .. ARGV[2])
elseif ARGV[2] ~= '' and ARGV[8] ~= '' then
  redis.call('HSET', KEYS[1], 'lrem:' .. ARGV[2], ARGV[8])
end
return 1
