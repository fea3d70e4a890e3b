# frozen_string_literal: true
#
# resque-web with resque-scheduler's tabs (Schedule, Delayed), as a deployment
# running resque-scheduler serves it: resque_web.ru after
# `require "resque/scheduler/server"`, with dynamic schedules on (the Schedule
# tab's Delete buttons). Runs the same two ways as resque_web.ru.
#
# Environment, besides resque_web.ru's:
#   RESQUE_SCHEDULER_LIB  resque-scheduler's lib/ (default: the 5.0.0 tree in
#                         ../shared/ruby, beside the repository)

scheduler_lib = ENV.fetch("RESQUE_SCHEDULER_LIB", "")
if scheduler_lib.empty?
  scheduler_lib = File.expand_path("../../shared/ruby/resque-scheduler-5.0.0/lib", __dir__)
end
$LOAD_PATH.unshift(scheduler_lib)

require_relative "boot"
require "resque/server"
require "resque-scheduler"
require "resque/scheduler/server"
Resque::Scheduler.dynamic = true

if is_a?(Rack::Builder)
  run Resque::Server
else
  load File.expand_path("resque_web.ru", __dir__)
end
