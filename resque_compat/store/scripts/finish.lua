-- Finish the current job; run before reserve.lua's body as one script (done_and_reserve).
-- KEYS: as reserve.lua, then stat:processed, stat:processed:<id>, stat:failed,
-- stat:failed:<id>, the failure list, failed_queues, the job's resque-loner marker to
-- delete ('' for none) (appended at the end).
-- ARGV: as reserve.lua, then
--   the worker:<id> record of the job being finished;
--   the failure record to push ('' for none: the job succeeded, or a failure backend of
--   the app's saved it already);
--   the failure list's name to add to failed_queues ('' for none; RedisMultiQueue);
--   "1" when the job counts as failed (Ruby's failed!);
--   "1" when the next job should be reserved, "0" to only finish.
-- In Ruby's order: the failure record (job.fail), failed!, then done_working: DEL
-- worker:<id> + INCRBY stat:processed 1 + INCRBY stat:processed:<id> 1 (a failed job counts
-- as processed too). All of it only while worker:<id> still holds that job, so a call
-- repeated after a lost reply writes nothing twice and drops no next job. The marker is
-- deleted only when it exists (a job of a class that is unique in Ruby, which reserve.lua
-- could not digest): other jobs write nothing Ruby's worker would not. Its deletion is
-- reported in reserve.lua's reply, and the job reserved next has its marker deleted if it
-- is of the same class (ARGV then carries the queues' loner keys, see reserve.lua).
local n = #KEYS
local a = #ARGV
if redis.call('GET', KEYS[2]) == ARGV[a - 4] then
  if ARGV[a - 3] ~= '' then
    if ARGV[a - 2] ~= '' then
      redis.call('SADD', KEYS[n - 1], ARGV[a - 2])
    end
    redis.call('RPUSH', KEYS[n - 2], ARGV[a - 3])
  end
  if ARGV[a - 1] == '1' then
    redis.call('INCRBY', KEYS[n - 4], 1)
    redis.call('INCRBY', KEYS[n - 3], 1)
  end
  if KEYS[n] ~= '' and redis.call('EXISTS', KEYS[n]) == 1 then
    ARGV.cleared = redis.call('DEL', KEYS[n])
    ARGV.unique = string.match(ARGV[a - 4], '"payload":{"class":"([^"\\]*)"')
  end
  redis.call('DEL', KEYS[2])
  redis.call('INCRBY', KEYS[n - 6], 1)
  redis.call('INCRBY', KEYS[n - 5], 1)
  ARGV.finished = true
end
for i = n, n - 6, -1 do
  KEYS[i] = nil
end
if ARGV[a] ~= '1' then
  return false
end
