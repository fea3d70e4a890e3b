-- resque-scheduler's master lock: SETNX + EXPIRE, renewed while we hold it.
-- KEYS: the master lock. ARGV: host:pid, timeout in seconds. 1 while we are master.
if redis.call('SETNX', KEYS[1], ARGV[1]) == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
