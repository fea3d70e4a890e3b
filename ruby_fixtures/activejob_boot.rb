# frozen_string_literal: true
#
# ActiveJob set up the way a Rails application has it, on top of boot.rb, for the
# ActiveJob interop tests (compat_tests/test_activejob_ruby.py):
#
# * ActiveSupport's JSON is loaded (every Rails app has it; it changes Resque's bytes:
#   "<" is written "\u003c");
# * ActiveJob's queue adapter is Resque's (Resque.enqueue_to JobWrapper, job.serialize);
# * Time.zone defaults to UTC and I18n to :en, as config.time_zone / i18n defaults do;
# * GlobalID.app is "refapp", the name of the recording's application;
# * the Rails job classes of activejob_jobs.rb are defined.
#
# Load it with require (ruby_eval) or through activejob_worker.rb.

require_relative "boot"

require "logger"
require "active_support"
require "active_support/core_ext"
require "active_support/json"
require "active_job"
require "global_id"
# ActiveJob's own Resque adapter (the one a Rails 6.1 app uses). Resque 3.0 ships a newer
# copy for Rails >= 7.2 under the same require path, which comes first on the load path
# when RESQUE_RUBY_LIB is set, so this one is loaded by its full path.
require File.join(
  Gem::Specification.find_by_name("activejob").gem_dir, "lib/active_job/queue_adapters/resque_adapter"
)

GlobalID.app = "refapp"
ActiveJob::Base.queue_adapter = :resque
ActiveJob::Base.logger = Logger.new($stderr, level: Logger::WARN)
Time.zone_default = Time.find_zone!("UTC")
I18n.available_locales = %i[en de]
I18n.default_locale = :en

require_relative "activejob_jobs"
