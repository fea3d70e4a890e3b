"""Benchmarks of resque-compat against Ruby Resque, node-resque and Redis's round-trip limit.

Run ``python -m bench`` (see ``bench/cli.py``); every scenario prints its figures and their
ratios to baselines measured in the same run, and ``--json`` keeps them for
``python -m bench.plot`` and ``docs/performance.md``.
"""
