# frozen_string_literal: true
#
# eval.rb with resque-scheduler loaded: lets the Python tests ask Ruby's
# Resque.fetch_schedule, Resque::Scheduler.enqueue_from_config, Fugit and rufus
# what they make of a schedule.
#   ruby schedule.rb 'Resque.fetch_schedule("nightly")'   (or the code on stdin)
#
# Environment, besides boot.rb's:
#   RESQUE_SCHEDULER_LIB  resque-scheduler's lib/ (default: the 5.0.0 tree in
#                         ../shared/ruby, beside the repository)

scheduler_lib = ENV.fetch("RESQUE_SCHEDULER_LIB", "")
if scheduler_lib.empty?
  scheduler_lib = File.expand_path("../../shared/ruby/resque-scheduler-5.0.0/lib", __dir__)
end
$LOAD_PATH.unshift(scheduler_lib)

require_relative "boot"
require "resque-scheduler"
require_relative "eval"
