# frozen_string_literal: true
#
# Runs Ruby's scheduler in the foreground, as `resque-scheduler` does, configured from the
# same environment variables (RESQUE_SCHEDULER_INTERVAL, LOCK_TIMEOUT,
# RESQUE_SCHEDULER_MASTER_LOCK_PREFIX, VERBOSE...). No recurring schedule: an empty one.

require_relative "scheduler_boot"

$stdout.sync = true
Resque::Scheduler.configure do |config|
  config.logfile = nil
end
Resque.schedule = {}
Resque::Scheduler.run
