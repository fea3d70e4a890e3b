# frozen_string_literal: true
#
# The demo's Ruby job. The Python producer enqueues it on the "ruby" queue; it answers by
# enqueueing a job for the Python worker: the two runtimes share one Redis and one schema.

require "resque"

class RubyEcho
  @queue = :ruby

  def self.perform(round, message)
    puts "RubyEcho #{round}: #{message} (Ruby #{RUBY_VERSION}, pid #{Process.pid})"
    # Enqueue by class name: the class only exists in Python (docker/python/demo_jobs.py).
    Resque::Job.create(:python, "PythonEcho", round, "hello from ruby")
  end
end
