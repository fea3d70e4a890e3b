# frozen_string_literal: true
#
# worker.rb with ActiveJob and the Rails jobs of activejob_jobs.rb loaded first, so a
# real Ruby Resque worker can perform ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper
# jobs. Same environment variables as worker.rb.

require_relative "activejob_boot"
load File.expand_path("worker.rb", __dir__)
