# frozen_string_literal: true
#
# boot.rb plus resque-scheduler, for the delayed-job tests (compat_tests/scheduler_rig.py).
#
# Environment, besides boot.rb's:
#   RESQUE_SCHEDULER_LIB  resque-scheduler's lib/ directory; defaults to the shared tree
#                         ../shared/ruby/resque-scheduler-5.0.0/lib beside the checkout.

default_lib = File.expand_path("../../shared/ruby/resque-scheduler-5.0.0/lib", __dir__)
$LOAD_PATH.unshift(ENV.fetch("RESQUE_SCHEDULER_LIB", default_lib))

require_relative "boot"
require "resque-scheduler"
