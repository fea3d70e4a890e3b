# frozen_string_literal: true
#
# Common setup for every Ruby process the Python cross-runtime tests start
# (driven by compat_tests/runtimes.py).
#
# Environment:
#   RESQUE_RUBY_LIB      path to Ruby Resque's lib/ directory (a source checkout);
#                        empty/unset means "use the installed resque gem".
#   REDIS_URL            redis://host:port/db of the server under test (required).
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

redis_url = ENV.fetch("REDIS_URL", "")
if redis_url.empty?
  warn "boot.rb: REDIS_URL must be set (redis://host:port/db)"
  exit 3
end
Resque.redis = redis_url

require_relative "jobs"
require_relative "plugins" if ENV.fetch("COMPAT_PLUGINS", "") != ""
