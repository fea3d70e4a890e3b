"""Log output in Ruby Resque's formats: quiet, VERBOSE (``*** msg``), VVERBOSE (timestamped)."""

from __future__ import annotations

import logging
import os
import sys
import time


class VerboseFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"*** {record.getMessage()}"


class VeryVerboseFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S %Y-%m-%d", time.localtime(record.created))
        return f"** [{stamp}] {os.getpid()}: {record.getMessage()}"


def configure_logging(verbose: bool, very_verbose: bool) -> None:
    """Quiet by default except warnings and errors, as an operator expects from a daemon."""
    handler = logging.StreamHandler(sys.stdout)
    logger = logging.getLogger("resque_compat")
    if very_verbose:
        handler.setFormatter(VeryVerboseFormatter())
        logger.setLevel(logging.DEBUG)
    elif verbose:
        handler.setFormatter(VerboseFormatter())
        logger.setLevel(logging.INFO)
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        logger.setLevel(logging.WARNING)
    logger.handlers = [handler]
