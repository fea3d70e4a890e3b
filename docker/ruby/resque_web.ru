# frozen_string_literal: true
#
# resque-web, Ruby Resque's own dashboard (Resque::Server), for the demo:
#   rackup -o 0.0.0.0 -p 5678 resque_web.ru
# It lists Ruby and Python workers alike: they share the keys it reads.

require "resque/server"

Resque.redis = ENV.fetch("REDIS_URL", "redis://localhost:6379/0")

run Resque::Server
