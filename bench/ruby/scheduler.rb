# frozen_string_literal: true
#
# ruby scheduler.rb
#
# resque-scheduler's Resque::Scheduler.run (what `resque-scheduler` runs) with no recurring
# schedule, configured from its usual variables (RESQUE_SCHEDULER_INTERVAL, LOCK_TIMEOUT...).
# resque-scheduler comes from RESQUE_SCHEDULER_LIB (its lib/ directory) or the installed gem.

scheduler_lib = ENV.fetch("RESQUE_SCHEDULER_LIB", "")
$LOAD_PATH.unshift(scheduler_lib) unless scheduler_lib.empty?

require_relative "boot"
require "resque-scheduler"

Resque::Scheduler.quiet = true
Resque.schedule = {}
Resque::Scheduler.run
