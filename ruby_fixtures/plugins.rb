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

# A status job with resque-status' three optional callbacks. options["outcome"]: "complete"
# (the default), "raise" (perform raises), "fail" (perform marks the status failed),
# "tick" (perform ticks "steps" times, "pause" seconds apart: a kill stops it), or
# "callback_raises" (perform completes, then on_success raises). Each callback logs what it
# was given and the status it saw to compat:callbacks.
class CallbackJob
  include Resque::Plugins::Status
  @queue = :statused

  def perform
    case options["outcome"]
    when "raise" then raise ArgumentError, "bad input"
    when "fail" then failed("gave up on #{options['item']}")
    when "tick"
      steps = options.fetch("steps", 200).to_i
      steps.times do |i|
        at(i + 1, steps)
        sleep(options.fetch("pause", 0).to_f)
      end
    else at(1, 1, "done")
    end
  end

  def on_success
    log_callback("on_success", nil)
    raise "after success" if options["outcome"] == "callback_raises"
  end

  def on_failure(error)
    log_callback("on_failure", error.is_a?(Exception) ? "error: #{error.message}" : error)
  end

  def on_killed
    log_callback("on_killed", nil)
  end

  def log_callback(callback, detail)
    PluginLog.push("compat:callbacks", { "runtime" => "ruby", "uuid" => uuid,
                                         "callback" => callback, "detail" => detail,
                                         "status" => status["status"] })
  end
end

# resque-retry jobs for the retry extras. Each logs its attempt (class, args, counter) to
# compat:attempts and fails unless told otherwise.
module RetryLog
  def log_attempt(*args)
    PluginLog.push("compat:attempts", { "runtime" => "ruby", "class" => name, "args" => args,
                                        "counter" => Resque.redis.get(redis_retry_key(*args)) })
  end
end

# Only IOError is retryable by exception; a retry_criteria_check also retries a failure whose
# message says "transient". Fails with "<kind> failure".
class CriteriaJob
  extend Resque::Plugins::Retry
  extend RetryLog
  @queue = :retry
  @retry_limit = 3
  @retry_exceptions = [IOError]

  retry_criteria_check do |exception, *_args|
    exception.message.include?("transient")
  end

  def self.perform(kind, *rest)
    log_attempt(kind, *rest)
    raise "#{kind} failure"
  end
end

# retry_args: each retry carries the next try number; the third try succeeds.
class RetryArgsJob
  extend Resque::Plugins::Retry
  extend RetryLog
  @queue = :retry
  @retry_limit = 5

  def self.retry_args(name, tries)
    [name, tries + 1]
  end

  def self.perform(name, tries)
    log_attempt(name, tries)
    raise "try #{tries} failed" if tries < 2
  end
end

# @retry_exceptions as a hash of exception to delays: no @retry_limit, so the longest list
# (three zero delays) makes the limit 3.
class DelayListJob
  extend Resque::Plugins::Retry
  extend RetryLog
  @queue = :retry
  @retry_exceptions = { RuntimeError => [0, 0, 0], IOError => 0 }

  def self.perform(*args)
    log_attempt(*args)
    raise "always"
  end
end

# Its own retry_identifier: the counter is named after the first argument ("id <first>",
# whose space the key drops), not the digest of all of them. Fails 3 times in all.
class IdentifiedRetryJob
  extend Resque::Plugins::Retry
  extend RetryLog
  @queue = :retry
  @retry_limit = 2

  def self.retry_identifier(*args)
    "id #{args.first}"
  end

  def self.perform(*args)
    log_attempt(*args)
    raise "identified"
  end
end

# Its retries carry ["refuse"], which its own before_enqueue hook refuses: the retry is
# dropped (Resque.enqueue_to runs the hooks) and the failed attempt's counter kept.
class RefusedRetryJob
  extend Resque::Plugins::Retry
  extend RetryLog
  @queue = :retry
  @retry_limit = 3

  def self.retry_args(*_args)
    ["refuse"]
  end

  def self.before_enqueue_refuse(*args)
    args.first != "refuse"
  end

  def self.perform(*args)
    log_attempt(*args)
    raise "refused retry"
  end
end

# What DelegatingRetryJob's retries are enqueued as (resque-retry's retry_job_delegate).
class DelegateTarget
  @queue = :retry

  def self.perform(*args)
    PluginLog.push("compat:attempts", { "runtime" => "ruby", "class" => "DelegateTarget",
                                        "args" => args, "counter" => nil })
  end
end

# Fails; its retry is a DelegateTarget job, and its own counter goes at once.
class DelegatingRetryJob
  extend Resque::Plugins::Retry
  extend RetryLog
  @queue = :retry
  @retry_limit = 2
  @retry_job_delegate = DelegateTarget

  def self.perform(*args)
    log_attempt(*args)
    raise "delegated"
  end
end

# Delayed retries (resque-scheduler's delayed queue). A fixed delay: 60 s, 2 retries.
class DelayedRetryJob
  extend Resque::Plugins::Retry
  extend RetryLog
  @queue = :retry
  @retry_limit = 2
  @retry_delay = 60

  def self.perform(*args)
    log_attempt(*args)
    raise "delayed attempt failed"
  end
end

# ExponentialBackoff with its own strategy: retried at once, then after 30 s, then 90 s.
class BackoffJob
  extend Resque::Plugins::ExponentialBackoff
  extend RetryLog
  @queue = :retry
  @backoff_strategy = [0, 30, 90]

  def self.perform(*args)
    log_attempt(*args)
    raise "backoff attempt failed"
  end
end

# Per-exception delays: a RuntimeError is retried after 10 s, then 20 s.
class ExceptionDelayJob
  extend Resque::Plugins::Retry
  extend RetryLog
  @queue = :retry
  @retry_exceptions = { RuntimeError => [10, 20] }

  def self.perform(*args)
    log_attempt(*args)
    raise "exception delay failed"
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
