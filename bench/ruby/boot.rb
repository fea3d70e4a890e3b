# frozen_string_literal: true
#
# Loads Ruby Resque for the benchmarks, the way ruby_fixtures/boot.rb does for the tests:
# Resque from RESQUE_RUBY_LIB (a source checkout's lib/) or the installed gem, MultiJson
# pinned to its json_gem adapter (what a Ruby app without oj gets), Resque.redis from
# REDIS_URL, then the bench jobs.

resque_lib = ENV.fetch("RESQUE_RUBY_LIB", "")
$LOAD_PATH.unshift(resque_lib) unless resque_lib.empty?

require "json"
require "multi_json"
MultiJson.use(:json_gem)
require "resque"

redis_url = ENV.fetch("REDIS_URL", "")
abort "bench boot.rb: REDIS_URL must be set (redis://host:port/db)" if redis_url.empty?
Resque.redis = redis_url

require_relative "jobs"
