# frozen_string_literal: true
#
# A real Ruby Resque worker (ruby_fixtures/worker.rb) that also knows ChaosJob, the job of
# the Python chaos tests (tests/chaos/jobs.py): sleep args[1] ms, then RPUSH args[0] to the
# plain list "chaos:ran".

require_relative "../../ruby_fixtures/boot"

class ChaosJob
  @queue = :chaos

  def self.perform(job_id, sleep_ms = 0)
    sleep(sleep_ms / 1000.0) if sleep_ms.positive?
    CompatRecorder.redis.rpush("chaos:ran", job_id)
  end
end

load File.expand_path("../../ruby_fixtures/worker.rb", __dir__)
