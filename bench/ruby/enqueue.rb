# frozen_string_literal: true
#
# ruby enqueue.rb COUNT [PAD_BYTES]
#
# Resque.enqueue_to(:bench, BenchNoop, i[, pad]) COUNT times, one by one, as an app does,
# and prints {"count":COUNT,"seconds":<elapsed, boot excluded>} on stdout.

require_relative "boot"

count = Integer(ARGV.fetch(0))
pad_bytes = Integer(ARGV.fetch(1, "0"))
pad = "x" * pad_bytes

Resque.redis.ping
started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
if pad_bytes.zero?
  count.times { |i| Resque.enqueue_to(:bench, BenchNoop, i) }
else
  count.times { |i| Resque.enqueue_to(:bench, BenchNoop, i, pad) }
end
elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
puts JSON.generate({ "count" => count, "seconds" => elapsed })
