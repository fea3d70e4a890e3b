-- Reserve: pop the first job in priority order and record it in worker:<id>, atomically.
-- KEYS: pause-all-workers, worker:<id>, queues, queue:<q1>, queue:<q2>, ...
-- ARGV: run_at; the number of names in the queues set the worker resolved its list from
-- (-1 for a static list: no check); those names; for each queue its name as a JSON string
-- (written by our codec); the number of job classes known to be unique (resque-loner), those
-- class names, and when there are any (or finish.lua is given a marker to delete), for each
-- queue its loner key with the digest left off.
-- Returns {index, payload, loner digest deleted or '', markers finish.lua deleted} for the
-- first queue that had a job, where the record is {"queue":..,"run_at":..,"payload":<the
-- payload as it is>} (the worker rebuilds the same bytes; index 0: a job already recorded in
-- worker:<id> is returned with the record in place of the payload, so a retried call never
-- takes a second job), "paused", {-1, name, name, ...}: the queues set changed, here it is
-- (the worker resolves its `*`, globs and !skips again and calls back; Ruby resolves them on
-- every reserve), or nil.
-- The payload goes into the record as it is: the worker decodes every payload anyway and
-- rewrites the record in the rare case it is not a plain job (``Worker.readable``), which
-- costs nothing per job here (a JSON parse in Lua was the largest part of this script).
-- resque-loner: Ruby's worker deletes a unique job's marker when it takes the job. For a job
-- of a class known to be unique, shaped as Resque writes it with no hash in its args (so
-- the payload's bytes are what resque-loner digests), the marker is deleted here; the worker
-- deletes any other marker when it finishes the job (finish.lua) and learns the class.
local current = nil
if not ARGV.finished then
  current = redis.call('GET', KEYS[2])
end
if current then
  return {0, current, '', 0}
end
local pause = redis.call('GET', KEYS[1])
if pause and string.lower(string.match(pause, '^%s*(.-)%s*$')) == 'true' then
  return 'paused'
end
local known = tonumber(ARGV[2])
if known >= 0 then
  local changed = redis.call('SCARD', KEYS[3]) ~= known
  for i = 3, 2 + known do
    if changed then
      break
    end
    changed = redis.call('SISMEMBER', KEYS[3], ARGV[i]) == 0
  end
  if changed then
    local members = redis.call('SMEMBERS', KEYS[3])
    table.insert(members, 1, -1)
    return members
  end
end
local queues = #KEYS - 3
local names = 2 + math.max(known, 0) - 3
local unique = tonumber(ARGV[names + queues + 4])
local first = names + queues + 5
local function listed(class)
  if ARGV.unique == class then
    return true
  end
  for c = first, first + unique - 1 do
    if ARGV[c] == class then
      return true
    end
  end
  return false
end
local function marker(raw, i)
  local class = string.match(raw, '^{"class":"([^"\\]*)","args":%[')
  if not class or string.find(raw, '{', 2, true) or not listed(class) then
    return ''
  end
  local digest = md5(raw)
  redis.call('DEL', ARGV[first + unique + i - 4] .. digest)
  return digest
end
for i = 4, #KEYS do
  local raw = redis.call('LPOP', KEYS[i])
  if raw then
    redis.call('SET', KEYS[2], '{"queue":' .. ARGV[names + i] .. ',"run_at":"' .. ARGV[1] ..
      '","payload":' .. raw .. '}')
    local digest = ''
    if unique > 0 or ARGV.unique then
      digest = marker(raw, i)
    end
    return {i - 3, raw, digest, ARGV.cleared or 0}
  end
end
return false
