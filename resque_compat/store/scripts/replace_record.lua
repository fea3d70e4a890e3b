-- Rewrite a job's record with a readable one, only while it is still the one reserved.
-- KEYS: worker:<id>. ARGV: the record expected there, its replacement.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
