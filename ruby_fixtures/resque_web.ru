# frozen_string_literal: true
#
# resque-web for the compatibility tests: Resque::Server, the Sinatra app Ruby
# Resque ships (lib/resque/server.rb), unchanged, against the Redis in REDIS_URL
# (boot.rb: Resque from RESQUE_RUBY_LIB or the gem, MultiJson adapter pinned).
#
# Two ways to run it:
#   rackup ruby_fixtures/resque_web.ru     any Rack server, rackup's options
#   ruby ruby_fixtures/resque_web.ru       WEBrick on 127.0.0.1 (RESQUE_WEB_HOST),
#                                          port RESQUE_WEB_PORT or, by default,
#                                          one the kernel picks (no race for a
#                                          "free" port), then prints one line
#                                          "resque-web listening on http://HOST:PORT/"
#                                          to stdout for the caller to read.
# Access and error logs (with Sinatra's backtraces) go to stderr.

require_relative "boot"
require "resque/server"

if is_a?(Rack::Builder)
  run Resque::Server
else
  require "logger"
  require "rack/handler/webrick"

  $stdout.sync = true
  $stderr.sync = true
  host = ENV.fetch("RESQUE_WEB_HOST", "127.0.0.1")
  port = Integer(ENV.fetch("RESQUE_WEB_PORT", "0"))
  log = WEBrick::Log.new($stderr, WEBrick::Log::WARN)
  access_log = [[$stderr, WEBrick::AccessLog::COMMON_LOG_FORMAT]]

  Rack::Handler::WEBrick.run(
    Resque::Server, Host: host, Port: port, Logger: log, AccessLog: access_log
  ) do |server|
    %w[INT TERM].each { |signal| trap(signal) { server.shutdown } }
    bound = server.listeners.first.addr[1]
    puts "resque-web listening on http://#{host}:#{bound}/"
  end
end
