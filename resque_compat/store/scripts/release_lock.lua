-- Delete the pruning lock only while it still names its holder: once it has expired and
-- someone else holds it, it is theirs.
-- KEYS: pruning_dead_workers_in_progress. ARGV: the holder's id.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
