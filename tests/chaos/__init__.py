"""Tests that try hard to make the worker lose a job: crashes, Redis outages, long runs.

Each scenario is also a runnable module for sizes too large for CI
(``python -m tests.chaos.crash --jobs 5000``, ``python -m tests.chaos.soak --jobs 1000000``);
see docs/reliability.md.
"""
