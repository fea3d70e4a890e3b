# frozen_string_literal: true
#
# ruby enqueue_in.rb COUNT
#
# Resque.enqueue_in(3600 + i % 60, BenchNoop, i) COUNT times, one by one, and prints
# {"count":COUNT,"seconds":<elapsed, boot excluded>} on stdout.

scheduler_lib = ENV.fetch("RESQUE_SCHEDULER_LIB", "")
$LOAD_PATH.unshift(scheduler_lib) unless scheduler_lib.empty?

require_relative "boot"
require "resque-scheduler"

count = Integer(ARGV.fetch(0))
Resque.redis.ping
started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
count.times { |i| Resque.enqueue_in(3600 + i % 60, BenchNoop, i) }
elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
puts JSON.generate({ "count" => count, "seconds" => elapsed })
