-- KEYS: delayed:<ts>, delayed_queue_schedule. ARGV: <ts>.
-- Ruby's clean_up_timestamp: drop the list and its schedule entry once the list is empty.
if redis.call('LLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 1
end
return 0
