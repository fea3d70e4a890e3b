-- Put a job the worker reserved but never started back at the head of its queue, only while
-- worker:<id> still holds that exact record (so pruning or a second call cannot duplicate it).
-- KEYS: worker:<id>, queue:<q>. ARGV: the record expected in worker:<id>, the payload.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('LPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0
