"""What every part of writeback can carry in JSON: orjson (answers, stored JSON) and the
providers' JSON parsers take integers within signed 64 bits, finite floats and text that is
valid Unicode (Python's json module reads an unpaired surrogate escape such as "\\ud800" into a
str that no encoder can write). PostgreSQL text cannot hold NUL characters either."""

from __future__ import annotations

import math
from typing import Any

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def number_problem(value: Any) -> str | None:
    """Why `value` cannot be carried, or None if it can (or is not a number)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        return f"is an integer outside the signed 64-bit range ({INT64_MIN} to {INT64_MAX})"
    if isinstance(value, float) and not math.isfinite(value):
        return "is not a finite number (NaN and Infinity cannot be written)"
    return None


NUL_TEXT = "contains a NUL character (\\u0000), which cannot be stored"
SURROGATE_TEXT = "contains an unpaired UTF-16 surrogate (a lone \\ud800-\\udfff escape)"


def text_problem(value: str) -> str | None:
    """Why text cannot be carried, or None if it can."""
    if "\0" in value:
        return NUL_TEXT
    if value.isascii():
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_TEXT
    return None


def json_safe(value: Any) -> Any:
    """`value` made writable by any JSON encoder: numbers that cannot be carried become None,
    text that is not valid Unicode shows its bad characters as escapes. Lists and dicts are
    copied; anything else is kept."""
    if isinstance(value, str):
        if value.isascii():
            return value
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {json_safe(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return None if number_problem(value) else value
