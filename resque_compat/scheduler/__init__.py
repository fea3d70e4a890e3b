"""resque-scheduler's side of the protocol: delayed jobs, the master lock, recurring schedules."""
