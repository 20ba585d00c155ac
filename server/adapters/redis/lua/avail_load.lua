--[[
  Loads a departure's availability from a Postgres snapshot, unless another process loaded it first
  or the cache already holds a newer seq. Starts a new generation: reservations of an older generation
  are no longer counted.

  KEYS[1] availability hash of the departure
  ARGV[1] new gen (random)
  ARGV[2] ttl seconds (the cache is rebuilt from Postgres at least this often)
  ARGV[3] seq, ARGV[4] cap_teu, ARGV[5] cap_t, ARGV[6] used_teu, ARGV[7] used_t, ARGV[8] cutoff_ms
  ARGV[9..] pairs of listing id, remaining TEU (open listings only)

  Returns 1 when loaded, 0 when a load was already there.
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'gen', ARGV[1], 'seq', ARGV[3], 'cap_teu', ARGV[4], 'cap_t', ARGV[5], 'used_teu', ARGV[6],
  'used_t', ARGV[7], 'pend_teu', 0, 'pend_t', 0, 'cutoff_ms', ARGV[8])
for i = 9, #ARGV, 2 do
  redis.call('HSET', KEYS[1], 'lrem:' .. ARGV[i], ARGV[i + 1])
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
