# frozen_string_literal: true
#
# Job classes shared by the cross-runtime tests. The Python side and the
# node-resque worker (compat_tests/node/worker.js) define jobs with the same
# names and the same observable effect, so a test can enqueue from any runtime
# and check which runtime performed the job.
#
# Performed jobs are recorded in the plain Redis list "compat:performed" (NOT
# under the "resque:" namespace) as
#   {"runtime":"ruby","pid":<pid>,"args":[...]}
# so recording never touches the keys whose layout is under test.

require "json"
require "redis"

module CompatRecorder
  PERFORMED_KEY = "compat:performed"

  module_function

  # One raw connection per process: a forking worker runs jobs in a child, and
  # redis-rb refuses to reuse a socket inherited across fork.
  def redis
    @redis = nil if @redis_pid != Process.pid
    @redis_pid = Process.pid
    # COMPAT_LEDGER_URL: a Redis apart from the one under test (failover tests).
    @redis ||= Redis.new(url: ENV.fetch("COMPAT_LEDGER_URL", nil) || ENV.fetch("REDIS_URL"))
  end

  def record(args)
    entry = JSON.generate({ "runtime" => "ruby", "pid" => Process.pid, "args" => args })
    redis.rpush(PERFORMED_KEY, entry)
  end
end

# Records its arguments; the workhorse of the interop tests.
class RecordArgs
  @queue = :compat

  def self.perform(*args)
    CompatRecorder.record(args)
  end
end

# Always fails, to produce a Resque failure record (exception RuntimeError, error "boom").
class Failing
  @queue = :compat

  def self.perform(*_args)
    raise "boom"
  end
end

# Sleeps args[0] seconds, then records like RecordArgs: for shutdown/kill and
# "worker is busy" scenarios.
class Slow
  @queue = :compat

  def self.perform(*args)
    sleep(Float(args.fetch(0, 1)))
    CompatRecorder.record(args)
  end
end

# Does nothing; for throughput and stats tests.
class Noop
  @queue = :compat

  def self.perform(*_args); end
end
