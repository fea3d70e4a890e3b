# frozen_string_literal: true
#
# resque-web with resque-retry's Retry tab (`require "resque-retry/server"`, which brings
# resque-scheduler's tabs with it), as a deployment using resque-retry serves it. The tab
# looks each delayed job's class up to read its retry counter, so the plugin test jobs are
# loaded (boot.rb with COMPAT_PLUGINS set: ruby_fixtures/plugins.rb, which also puts the
# shared resque-retry and resque-scheduler trees on the load path). Runs the same two ways
# as resque_web.ru.

ENV["COMPAT_PLUGINS"] = "1"
require_relative "boot"
require "resque/server"
require "resque-retry/server"

if is_a?(Rack::Builder)
  run Resque::Server
else
  load File.expand_path("resque_web.ru", __dir__)
end
