-- Finish the current job; run before reserve.lua's body as one script (done_and_reserve).
-- KEYS: as reserve.lua, then stat:processed, stat:processed:<id>, stat:failed,
-- stat:failed:<id> (appended at the end).
-- ARGV: as reserve.lua, then the worker:<id> record of the job being finished, "1" when the
-- job failed and counts as failed (Ruby's failed!), and "1" when the next job should be
-- reserved, "0" to only finish. Finishing is Ruby's pipelined DEL worker:<id> +
-- INCRBY stat:processed 1 + INCRBY stat:processed:<id> 1 (a failed job counts as processed
-- too), after Ruby's failed! (INCRBY stat:failed, stat:failed:<id>) for a failed job; all
-- done only while worker:<id> still holds that job, so that a call repeated after a lost
-- reply neither counts twice nor drops the next job.
local n = #KEYS
if redis.call('GET', KEYS[2]) == ARGV[#ARGV - 2] then
  if ARGV[#ARGV - 1] == '1' then
    redis.call('INCRBY', KEYS[n - 1], 1)
    redis.call('INCRBY', KEYS[n], 1)
  end
  redis.call('DEL', KEYS[2])
  redis.call('INCRBY', KEYS[n - 3], 1)
  redis.call('INCRBY', KEYS[n - 2], 1)
end
for i = n, n - 3, -1 do
  KEYS[i] = nil
end
if ARGV[#ARGV] ~= '1' then
  return false
end
