# frozen_string_literal: true
#
# The bench jobs, with the same names and effect as bench/jobs.py and bench/node/worker.js:
#   BenchNoop   does nothing (whatever its arguments)
#   BenchStamp  reads the clock on its first line, then appends
#               {"tag":<args[0]>,"t":<epoch seconds>,"runtime":"ruby","pid":<pid>}
#               to the plain list bench:stamps (outside the Resque namespace)

require "json"
require "redis"

module BenchStamps
  KEY = "bench:stamps"

  module_function

  # One connection per process: a forking worker performs each job in a new child.
  def redis
    @redis = nil if @pid != Process.pid
    @pid = Process.pid
    @redis ||= Redis.new(url: ENV.fetch("REDIS_URL"))
  end

  def record(tag, time)
    entry = { "tag" => tag, "t" => time, "runtime" => "ruby", "pid" => Process.pid }
    redis.rpush(KEY, JSON.generate(entry))
  end
end

class BenchNoop
  @queue = :bench

  def self.perform(*_args); end
end

class BenchStamp
  @queue = :bench

  def self.perform(tag, *_rest)
    now = Time.now.to_f
    BenchStamps.record(tag, now)
  end
end
