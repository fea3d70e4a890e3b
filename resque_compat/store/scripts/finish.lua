-- Finish the current job; run before reserve.lua's body as one script (done_and_reserve).
-- KEYS: as reserve.lua, then stat:processed, stat:processed:<id> (appended at the end).
-- ARGV: as reserve.lua, then the worker:<id> record of the job being finished, then "1" when
-- the next job should be reserved, "0" to only finish. Finishing is Ruby's pipelined
-- DEL worker:<id> + INCRBY stat:processed 1 + INCRBY stat:processed:<id> 1 (a failed job
-- counts as processed too), done only while worker:<id> still holds that job, so that a
-- call repeated after a lost reply neither counts twice nor drops the next job.
local n = #KEYS
local finishing = ARGV[#ARGV - 1]
if redis.call('GET', KEYS[2]) == finishing then
  redis.call('DEL', KEYS[2])
  redis.call('INCRBY', KEYS[n - 1], 1)
  redis.call('INCRBY', KEYS[n], 1)
end
KEYS[n] = nil
KEYS[n - 1] = nil
if ARGV[#ARGV] ~= '1' then
  return false
end
