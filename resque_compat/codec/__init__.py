"""JSON exactly as Ruby Resque writes it, and reading everything Ruby writes.

Byte identity is not cosmetic here. ``Resque.dequeue`` and ``Job.destroy`` remove jobs with
``LREM`` of a re-encoded payload, so a Python producer whose bytes differ from Ruby's makes
jobs that Ruby can never dequeue (and the reverse). The output therefore follows what the
Ruby process that shares the Redis would write, which depends on its JSON setup
(:class:`JsonStyle`); the rules below were read off the recordings of real Ruby in
``compat_tests/reference/enqueue_basic*.json``.

What every style shares: no whitespace, ``/`` never escaped, control characters as
``\\b \\f \\n \\r \\t`` or lowercase ``\\u00XX``, every other character as raw UTF-8,
integers of any size in full, and Ruby's ``Float#to_s`` layout for floats (shortest
round-trip digits, fixed notation only for 1e-4 <= |x| < 1e15, otherwise ``1.0e+20``,
``1.5e-07``, ``5.0e-324``).

Accepted values are ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes`` (as text),
``list``/``tuple`` and ``dict`` with ``str`` keys, subclasses included (an ``IntEnum`` is
written as its number, as Ruby writes a Symbol as its name). Anything else is refused with an
:class:`EncodeError` naming the path of the value, before anything reaches Redis.

Nesting deeper than 100 arrays/objects is refused in every style: that is Ruby's default
``max_nesting`` for both ``JSON.generate`` and ``JSON.parse``, and a payload a Ruby worker
cannot parse crashes it during reserve and is lost. The same limit turns circular
structures into an :class:`EncodeError` instead of a ``RecursionError``.

The package: ``styles`` (the JSON setups and their float rules), ``scan`` (validation),
``encoder`` (writing), ``decoder`` (reading), ``refused`` (the path a refusal names).
"""

from __future__ import annotations

from .decoder import decode
from .encoder import encode, encode_payload
from .styles import JsonStyle, ruby_float

__all__ = ["JsonStyle", "decode", "encode", "encode_payload", "ruby_float"]
