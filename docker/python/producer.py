"""The demo's producer: every few seconds, one job for Ruby and one for Python.

``RubyEcho`` goes to the Ruby worker (queue ``ruby``), which answers with a ``PythonEcho``
for the Python worker; the producer also sends a ``PythonEcho`` itself, and every fifth
round an ``Unreliable`` job that fails. ``REDIS_URL`` says where Redis is.

    python producer.py                  # forever, every PRODUCER_INTERVAL (2) seconds
    python producer.py --rounds 5 --interval 0
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

from resque_compat import Resque

FAILING_EVERY = 5


def send_round(client: Resque, round_number: int) -> None:
    client.enqueue_to("ruby", "RubyEcho", round_number, "hello from python")
    client.enqueue_to("python", "PythonEcho", round_number, "hello from python")
    if round_number % FAILING_EVERY == 0:
        client.enqueue_to("python", "Unreliable", round_number)
    print(f"producer: round {round_number} enqueued", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds",
        type=int,
        default=int(os.environ.get("PRODUCER_ROUNDS", "0")),
        help="rounds to send, 0 for ever",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=float(os.environ.get("PRODUCER_INTERVAL", "2")),
        help="seconds between rounds",
    )
    options = parser.parse_args(argv)
    rounds = itertools.count(1) if options.rounds <= 0 else range(1, options.rounds + 1)
    with Resque.from_url(os.environ.get("REDIS_URL")) as client:
        for round_number in rounds:
            send_round(client, round_number)
            time.sleep(options.interval)


if __name__ == "__main__":
    main()
