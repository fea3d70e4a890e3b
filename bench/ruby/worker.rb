# frozen_string_literal: true
#
# A Ruby Resque worker as `rake resque:work` runs it, configured by Resque's own variables:
# QUEUE, INTERVAL (seconds between polls when idle), FORK_PER_JOB (false: no fork).
# Stops on QUIT/TERM like any Resque worker.

require_relative "boot"

$stdout.sync = true
worker = Resque::Worker.new(*ENV.fetch("QUEUE", "bench").split(","))
worker.prepare
worker.work(Float(ENV.fetch("INTERVAL", "5")))
