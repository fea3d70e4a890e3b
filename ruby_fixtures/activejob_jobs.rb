# frozen_string_literal: true
#
# Rails job classes for the ActiveJob interop tests. compat_tests/activejob_handlers.py
# registers Python handlers under the same names, so either runtime can perform a job
# the other enqueued.
#
# ArgsJob records what it received in "compat:performed" (see jobs.rb) as
#   {"runtime":"ruby","pid":..,"args":[{"job":..,"args":[..],"kwargs":[..],"job_id":..,...}]}
# where each value is described as [class, inspect] (Hash and Array element by element;
# String and Symbol by their text, which JSON carries whatever the locale), so a test
# sees Symbol from String and HashWithIndifferentAccess from Hash. The class is written
# with Module#to_s: ActiveSupport 6.1's TimeWithZone.name pretends to be "Time".

# A model with a GlobalID (gid://refapp/Person/<id>); id 404 is a record that is gone.
class Person
  include GlobalID::Identification

  attr_reader :id

  def initialize(id)
    @id = id
  end

  def self.find(id)
    raise ArgumentError, "Couldn't find Person with 'id'=#{id}" if id.to_s == "404"

    new(Integer(id))
  end

  def inspect
    "#<Person id=#{id}>"
  end
end

module ActiveJobRecorder
  module_function

  def describe(value)
    case value
    when Hash
      [value.class.to_s, value.map { |key, item| [describe(key), describe(item)] }]
    when Array
      [value.class.to_s, value.map { |item| describe(item) }]
    when String, Symbol
      [value.class.to_s, value.to_s]
    else
      [value.class.to_s, value.inspect]
    end
  end

  def record(job, args, kwargs)
    CompatRecorder.record(
      [{
        "job" => job.class.name,
        "args" => args.map { |arg| describe(arg) },
        "kwargs" => describe(kwargs),
        "job_id" => job.job_id,
        "queue_name" => job.queue_name,
        "priority" => job.priority,
        "executions" => job.executions,
        "locale" => I18n.locale.to_s,
        "timezone" => Time.zone.name
      }]
    )
  end
end

# Records its arguments (positional and keyword) and its metadata.
class ArgsJob < ActiveJob::Base
  queue_as :default

  def perform(*args, **kwargs)
    ActiveJobRecorder.record(self, args, kwargs)
  end
end

# Always fails with ArgumentError "boom <arg>".
class FailingJob < ActiveJob::Base
  queue_as :critical

  def perform(arg)
    raise ArgumentError, "boom #{arg}"
  end
end

# Fails ("not yet (<executions>)") until the plain key compat:activejob:flaky_ok exists,
# then records like ArgsJob: for retrying a failure in either runtime.
class FlakyJob < ActiveJob::Base
  queue_as :default

  def perform(*args, **kwargs)
    raise "not yet (#{executions})" unless CompatRecorder.redis.exists?("compat:activejob:flaky_ok")

    ActiveJobRecorder.record(self, args, kwargs)
  end
end
