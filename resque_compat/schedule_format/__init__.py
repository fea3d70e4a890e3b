"""resque-scheduler's schedule entries (``cron``, ``every``, ``class``, ``queue``, ``args``...)
read and checked without Redis: both the producer (``set_schedule`` refuses a bad entry before
storing it) and the scheduler (which fires them) need the same reading, so it sits below both.
"""
