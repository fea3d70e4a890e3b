-- Reserve: pop the first job in priority order and record it in worker:<id>, atomically.
-- KEYS: pause-all-workers, worker:<id>, queues, queue:<q1>, queue:<q2>, ...
-- ARGV: run_at; the number of names in the queues set the worker resolved its list from
-- (-1 for a static list: no check); those names; then for each queue its name as a JSON
-- string (written by our codec).
-- Returns {index, payload, record} for the first queue that had a job (index 0: the job
-- already recorded in worker:<id>, so a retried call never takes a second job), "paused",
-- {-1, name, name, ...}: the queues set changed, here it is (the worker resolves its `*`,
-- globs and !skips again and calls back; Ruby resolves them on every reserve), or nil.
-- Whether a payload can go into the record as it is: JSON by a strict reading (no NaN, hex
-- or leading zeros, which cjson reads by default; no NUL, where cjson stops reading).
-- Anything else goes in as a JSON string. Raw tab, CR and LF are looked for (fast, plain
-- finds): cjson accepts them inside strings, Ruby's parser does not. Rarer control
-- characters are left to the worker, which rewrites such a record right after it reserved
-- (``Worker.readable``): a pattern scan of every payload costs milliseconds at 100 KB.
local function embeddable(raw)
  for _, byte in ipairs({0, 9, 10, 13}) do
    if string.find(raw, string.char(byte), 1, true) then
      return false
    end
  end
  local lenient = cjson.decode_invalid_numbers()
  cjson.decode_invalid_numbers(false)
  local ok = pcall(cjson.decode, raw)
  cjson.decode_invalid_numbers(lenient)
  return ok
end
local current = redis.call('GET', KEYS[2])
if current then
  return {0, '', current}
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
local names = 2 + math.max(known, 0) - 3
for i = 4, #KEYS do
  local raw = redis.call('LPOP', KEYS[i])
  if raw then
    local payload = raw
    if not embeddable(raw) then
      payload = cjson.encode(raw)
    end
    local record = '{"queue":' .. ARGV[names + i] .. ',"run_at":"' .. ARGV[1] ..
      '","payload":' .. payload .. '}'
    redis.call('SET', KEYS[2], record)
    return {i - 3, raw, record}
  end
end
return false
