# frozen_string_literal: true
#
# Lets Python tests ask Ruby Resque a question:
#   ruby eval.rb 'Resque.peek("compat", 0, 10)'      (or the code on stdin)
# The code runs after boot.rb (Resque loaded, Resque.redis = REDIS_URL, the
# jobs of jobs.rb defined) and the value of its last expression is written to
# stdout as one JSON document (JSON.generate, so symbols become strings and
# other objects their to_s).
#
# Anything the code itself prints, and Resque's logger, goes to stderr, so
# stdout always holds exactly the JSON result and nothing else.

require_relative "boot"

code = ARGV.empty? ? $stdin.read : ARGV[0]

result_out = $stdout.dup
$stdout.reopen($stderr)
Resque.logger = MonoLogger.new($stderr)
Resque.logger.formatter = Resque::QuietFormatter.new

# rubocop:disable Security/Eval -- evaluating test-supplied Ruby is the purpose of this script
result = TOPLEVEL_BINDING.eval(code, "(compat eval)")
# rubocop:enable Security/Eval

result_out.write(JSON.generate(result), "\n")
result_out.flush
