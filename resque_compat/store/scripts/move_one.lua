-- One delayed job moved (or dropped) by Python when MOVE_DUE met a payload it cannot cut.
-- KEYS: delayed:<ts>, timestamps:<payload>, queues, queue:<q>, delayed_queue_schedule.
-- ARGV: payload, delayed:<ts>, queue ('' drops the job), payload to push, ts.
-- Moves the head of a timestamp's list if it is still that payload.
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[1] then return 0 end
redis.call('LPOP', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
if ARGV[3] ~= '' then
  redis.call('SADD', KEYS[3], ARGV[3])
  redis.call('RPUSH', KEYS[4], ARGV[4])
end
if redis.call('LLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[5], ARGV[5])
end
return 1
