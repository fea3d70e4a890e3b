-- Requeue one failure record only if it is still exactly the one listed (failed retry).
-- KEYS: the failure list, the queues set, the job queue. ARGV: the index the record was
-- listed at, its exact bytes, the record with retried_at, the queue's name, the payload.
-- The record is looked for where it was listed, then wherever it moved (LPOS); a record
-- that changed or is gone is left alone and nothing is enqueued.
local index = tonumber(ARGV[1])
if redis.call('LINDEX', KEYS[1], index) ~= ARGV[2] then
  index = redis.call('LPOS', KEYS[1], ARGV[2])
  if not index then return 0 end
end
redis.call('LSET', KEYS[1], index, ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
redis.call('RPUSH', KEYS[3], ARGV[5])
return 1
