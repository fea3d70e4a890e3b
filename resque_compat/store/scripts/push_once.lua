-- RPUSH of a failure record that a repeated call does not write twice: the worker repeats a
-- write whose reply was lost, and the first may have landed. A record holds its failed_at
-- time, worker id, payload and backtrace, so the same bytes near the tail can only be this
-- record. LPOS compares on the server (Redis 6.0.6+); older servers scan the last 100.
-- KEYS: the failure list. ARGV: the record. Returns the list's length.
local ok, found = pcall(redis.call, 'LPOS', KEYS[1], ARGV[1], 'RANK', -1, 'MAXLEN', 1000)
if not ok then
  found = false
  for _, record in ipairs(redis.call('LRANGE', KEYS[1], -100, -1)) do
    if record == ARGV[1] then
      found = true
    end
  end
end
if found then
  return redis.call('LLEN', KEYS[1])
end
return redis.call('RPUSH', KEYS[1], ARGV[1])
