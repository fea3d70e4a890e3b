# frozen_string_literal: true
#
# Runs a real Ruby Resque worker the way `rake resque:work` does, without rake:
# the worker is configured from Resque's own environment variables
# (QUEUE/QUEUES, INTERVAL, MIN_INTERVAL, MAX_INTERVAL, BACKOFF_INTERVAL,
# FORK_PER_JOB, TERM_CHILD, RESQUE_TERM_TIMEOUT, VERBOSE/VVERBOSE, PIDFILE, ...).
# Queue names given as arguments take precedence over QUEUE/QUEUES.
#
# INTERVAL=0 makes the worker exit as soon as its queues are empty (Resque's own
# semantics), which is what one-shot tests want.
#
# The process title is Resque's own ("resque-3.0.0: Waiting for ..."), set by
# Resque::Worker#procline, so Ruby's dead-worker pruning recognises this
# process exactly as it would a production worker.

require_relative "boot"

$stdout.sync = true
$stderr.sync = true

begin
  # With no arguments Resque::Worker reads QUEUES, then QUEUE, from the environment.
  worker = Resque::Worker.new(*ARGV)
rescue Resque::NoQueueError
  abort "worker.rb: no queues: set QUEUE or QUEUES (e.g. QUEUE=compat), or pass queue names"
end

worker.prepare
worker.log "Starting worker #{worker}"
# Blocks until the queues are empty (INTERVAL=0) or a shutdown signal arrives.
# Resque 3.x takes the backoff keywords; 2.x and 1.x only the interval.
if worker.method(:work).parameters.any? { |kind, _| kind == :key || kind == :keyreq }
  worker.work(
    ENV["INTERVAL"],
    min_interval: ENV["MIN_INTERVAL"],
    max_interval: ENV["MAX_INTERVAL"],
    backoff_interval: ENV["BACKOFF_INTERVAL"]
  )
else
  worker.work(ENV.fetch("INTERVAL", 5.0))
end
