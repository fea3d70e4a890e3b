# frozen_string_literal: true
#
# Job classes for the plugin tests (compat_tests/test_plugins_*.py), loaded by boot.rb when
# COMPAT_PLUGINS is set. The plugins themselves come from the shared source trees beside the
# checkout (../shared/ruby/<plugin>/lib, or RESQUE_SHARED_RUBY), never from this repository.
#
# Each class has a Python twin in compat_tests/plugin_jobs.py with the same name and effect,
# so a test can let either runtime take a job. Effects go to plain (un-namespaced) lists.

shared = ENV.fetch("RESQUE_SHARED_RUBY", File.expand_path("../../shared/ruby", __dir__))
%w[resque-scheduler-5.0.0 resque-retry-1.8.1 resque-status-0.5.0 resque-loner-1.2.1
   resque-lock-timeout-0.4.5].each do |tree|
  $LOAD_PATH.unshift(File.join(shared, tree, "lib"))
end

require "resque-status"
require "resque-loner"
require "resque-lock-timeout"
require "resque-retry"

module PluginLog
  module_function

  def push(key, entry)
    CompatRecorder.redis.rpush(key, JSON.generate(entry))
  end
end

# A status job: reports "step i of n" n times (options "steps", "pause" seconds between).
class StepsJob
  include Resque::Plugins::Status
  @queue = :statused

  def perform
    steps = options.fetch("steps", 3).to_i
    steps.times do |i|
      sleep(options.fetch("pause", 0).to_f)
      at(i + 1, steps, "step #{i + 1}")
    end
    PluginLog.push("compat:status", { "runtime" => "ruby", "uuid" => uuid })
  end
end

# A unique job (resque-loner): a second enqueue with the same args is dropped while queued.
class UniqueRecord
  include Resque::Plugins::UniqueJob
  @queue = :compat

  def self.perform(*args)
    CompatRecorder.record(args)
  end
end

# A locked job (resque-lock-timeout): logs its start and end times; re-enqueued when the lock
# is held, as the plugin's README suggests doing in lock_failed.
class LockedJob
  extend Resque::Plugins::LockTimeout
  @queue = :locked
  @lock_timeout = 60

  def self.identifier(key, *_rest)
    key.to_s
  end

  def self.lock_failed(*args)
    Resque.enqueue(self, *args)
  end

  def self.perform(key, number, seconds)
    PluginLog.push("compat:locklog", { "runtime" => "ruby", "n" => number, "edge" => "start",
                                        "t" => Time.now.to_f })
    sleep(seconds.to_f)
    PluginLog.push("compat:locklog", { "runtime" => "ruby", "n" => number, "edge" => "end",
                                        "t" => Time.now.to_f, "key" => key })
  end
end

# A retried job (resque-retry): fails (unless its first argument is "succeed") until given up
# after 2 retries; logs the attempt counter it runs under.
class RetriedJob
  extend Resque::Plugins::Retry
  @queue = :retry
  @retry_limit = 2

  def self.perform(*args)
    counter = Resque.redis.get(redis_retry_key(*args))
    PluginLog.push("compat:attempts", { "runtime" => "ruby", "args" => args, "counter" => counter })
    raise "attempt failed" unless args.first == "succeed"
  end
end

# A unique job whose marker expires (resque-loner's @loner_ttl).
class UniqueWithTtl
  include Resque::Plugins::UniqueJob
  @queue = :compat
  @loner_ttl = 300

  def self.perform(*args)
    CompatRecorder.record(args)
  end
end

# The default identifier (args joined with "-") and no timeout: a lock held until released.
class DefaultLocked
  extend Resque::Plugins::LockTimeout
  @queue = :locked

  def self.perform(*args)
    CompatRecorder.record(args)
  end
end

# A retried job whose every attempt dies (SIGKILL in the worker's child): the counter is then
# kept by resque-retry's on_failure hook, run in the parent worker with a Resque::DirtyExit.
class KilledRetriedJob
  extend Resque::Plugins::Retry
  @queue = :retry
  @retry_limit = 2

  def self.perform(*args)
    counter = Resque.redis.get(redis_retry_key(*args))
    PluginLog.push("compat:attempts", { "runtime" => "ruby", "args" => args, "counter" => counter })
    Process.kill("KILL", Process.pid)
  end
end
