-- Delete a lock only while it still names its holder: once it has expired and someone else
-- holds it, it is theirs. Used for the pruning lock and resque-scheduler's master lock.
-- KEYS: the lock (pruning_dead_workers_in_progress, the scheduler master lock).
-- ARGV: the holder's id (worker id, or host:pid).
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
