# frozen_string_literal: true
#
# Common setup for every Ruby process the Python cross-runtime tests start
# (driven by compat_tests/runtimes.py).
#
# Environment:
#   RESQUE_RUBY_LIB      path to Ruby Resque's lib/ directory (a source checkout);
#                        empty/unset means "use the installed resque gem".
#   REDIS_URL            redis://host:port/db of the server under test (required);
#                        with Resque 1.x it is handed over as "host:port:db".
#   MULTI_JSON_ADAPTER   MultiJson adapter to pin: json_gem (default) or oj, ...
#
# The JSON adapter is pinned explicitly because MultiJson otherwise picks the
# "best" installed one (oj if present), and the exact bytes Resque writes to
# Redis depend on it. Tests must know which encoder produced a payload.

resque_lib = ENV.fetch("RESQUE_RUBY_LIB", "")
$LOAD_PATH.unshift(resque_lib) unless resque_lib.empty?

require "json"
require "multi_json"

adapter = ENV.fetch("MULTI_JSON_ADAPTER", "").strip
adapter = "json_gem" if adapter.empty?
begin
  # oj (and any other optional adapter) is only usable when its gem is installed;
  # fail loudly instead of letting MultiJson silently fall back to another one.
  require adapter if adapter == "oj"
  MultiJson.use(adapter.to_sym)
rescue LoadError, MultiJson::AdapterError => e
  warn "boot.rb: MultiJson adapter #{adapter.inspect} is not available: #{e.message}"
  exit 3
end

require "resque"
require "uri"

redis_url = ENV.fetch("REDIS_URL", "")
if redis_url.empty?
  warn "boot.rb: REDIS_URL must be set (redis://host:port/db)"
  exit 3
end

if redis_url.start_with?("redis+sentinel://")
  # resque-compat's Sentinel URL, redis+sentinel://host:port,host:port/name[/db], as
  # redis-rb's own options: the master named `name`, found through those Sentinels.
  hosts, name, db = redis_url.delete_prefix("redis+sentinel://").split("/")
  sentinels = hosts.split(",").map do |address|
    host, port = address.split(":")
    { host: host, port: Integer(port) }
  end
  Resque.redis = Redis.new(url: "redis://#{name}/#{db || 0}", sentinels: sentinels, role: :master)
elsif Resque::VERSION.start_with?("1.")
  # Resque 1.x hands a redis:// URL to Redis.connect, which redis-rb 4 no longer has; its
  # other accepted form, "host:port:db", goes through Redis.new and works with every version.
  uri = URI.parse(redis_url)
  db = uri.path.to_s.delete_prefix("/")
  Resque.redis = "#{uri.host}:#{uri.port || 6379}:#{db.empty? ? 0 : db}"
else
  Resque.redis = redis_url
end

require_relative "jobs"
require_relative "plugins" if ENV.fetch("COMPAT_PLUGINS", "") != ""
