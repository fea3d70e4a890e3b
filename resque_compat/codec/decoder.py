"""Reading JSON written by Ruby (any :class:`~resque_compat.codec.JsonStyle`) or by ``encode``."""

from __future__ import annotations

import json
from typing import Any

from ..errors import DecodeError


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON (Ruby's JSON.parse refuses it too)")


_decoder = json.JSONDecoder(parse_constant=_refuse_constant)


def decode(data: bytes | str) -> Any:
    """Parse a JSON document written by Ruby (any :class:`JsonStyle`) or by :func:`encode`.

    Bytes that are not valid UTF-8 (Oj writes such strings raw) are decoded with
    ``surrogateescape``: each bad byte becomes a code point U+DC80..U+DCFF, so nothing is lost
    and ``encode(..., JsonStyle.OJ)`` writes the original bytes back; the other styles refuse
    such strings, as Ruby's json gem does. Any failure, including nesting too deep for the
    parser's recursion and NaN/Infinity literals, is a :class:`DecodeError` carrying the
    original bytes.
    """
    if isinstance(data, (bytes, bytearray)):
        text = bytes(data).decode("utf-8", "surrogateescape")
    elif isinstance(data, str):
        text = data
    else:
        raise TypeError(f"decode() needs bytes or str, not {type(data).__qualname__}")
    try:
        return _decoder.decode(text)
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise DecodeError(message, raw=_raw_bytes(data)) from None
    except RecursionError:
        message = "not decodable: JSON nested too deeply for the parser"
        raise DecodeError(message, raw=_raw_bytes(data)) from None
    except ValueError as exc:
        raise DecodeError(f"not decodable: {exc}", raw=_raw_bytes(data)) from None


def _raw_bytes(data: bytes | bytearray | str) -> bytes:
    if not isinstance(data, str):
        return bytes(data)
    try:
        return data.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return data.encode("utf-8", "surrogatepass")
