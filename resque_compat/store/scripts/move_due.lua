-- resque-scheduler's handle_delayed_items as one script: a job is either still delayed or
-- on its queue, whenever the process dies.
-- KEYS: delayed_queue_schedule, queues. ARGV: the key prefixes (from keys.py) of delayed:<ts>
-- lists, of their bare names in timestamps: sets, of timestamps: sets and of queue: lists; now
-- (whole seconds), budget, lowest timestamp ('-inf' for all), then the classes whose jobs the
-- caller moves itself (it runs their hooks first).
-- Returns {moved} or, when it met a payload it cannot cut or must not move, {moved,
-- timestamp, payload}.
local schedule, queues = KEYS[1], KEYS[2]
local delayed, member_prefix, timestamps, queue_prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local now, budget, lowest = ARGV[5], tonumber(ARGV[6]), ARGV[7]
local moved = 0
local hooked = {}
for i = 8, #ARGV do hooked[ARGV[i]] = true end
while moved < budget do
  local due = redis.call('ZRANGEBYSCORE', schedule, lowest, now, 'LIMIT', 0, 1)[1]
  if not due then return {moved} end
  local member = member_prefix .. due
  local key = delayed .. due
  local jobs = redis.call('LRANGE', key, 0, budget - moved - 1)
  local taken, odd = 0, nil
  for _, job in ipairs(jobs) do
    local body, quoted = string.match(job, '^({"class":"[^"\\]*","args":%[.*),"queue":(".*")}$')
    local ok, queue = false, nil
    if body and not (next(hooked) and hooked[string.match(job, '^{"class":"([^"]*)"')]) then
      ok, queue = pcall(cjson.decode, quoted)
    end
    if not ok or type(queue) ~= 'string' or queue == '' then
      odd = job
      break
    end
    redis.call('SREM', timestamps .. job, member)
    redis.call('SADD', queues, queue)
    redis.call('RPUSH', queue_prefix .. queue, body .. '}')
    taken = taken + 1
  end
  if taken > 0 then redis.call('LTRIM', key, taken, -1) end
  moved = moved + taken
  if odd then return {moved, due, odd} end
  if redis.call('LLEN', key) == 0 then
    redis.call('DEL', key)
    redis.call('ZREM', schedule, due)
  end
end
return {moved}
