"""Reading parameter values as people write them: integers, booleans and durations.

Each function returns the value or raises ValueError, whose message (possibly empty) says what is
wrong beyond "not of this form"; the caller builds the sentence.

- Integers: decimal (`-42`, `1000`), hexadecimal (`0x1F`, `-0x10`), or decimal with a suffix that
  multiplies by a power of 1000: `k` (10^3), `M` (10^6), `G` (10^9), so `64k` is 64000.
- Booleans: `true`, `false`, `yes`, `no`, `1`, `0`, in any case.
- Durations: Go's `time.ParseDuration` syntax, which is also what bee prints: one or more decimal
  numbers, each with a unit among `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h` (`10ms`, `1.5s`, `1h30m`,
  `-2s`), or a bare `0`. The result is in nanoseconds and must be a whole number of them.
"""

from __future__ import annotations

import re
from fractions import Fraction

_INTEGER = re.compile(r"([+-]?)(?:0[xX]([0-9a-fA-F]+)|([0-9]+)([kMG]?))")
_SUFFIXES = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9}
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})

#: Nanoseconds per duration unit (µ as U+00B5, as bee and Go print it, or U+03BC, the Greek letter).
DURATION_UNITS = {"ns": 1, "us": 10**3, "\u00b5s": 10**3, "\u03bcs": 10**3, "ms": 10**6, "s": 10**9,
                  "m": 60 * 10**9, "h": 3600 * 10**9}
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def parse_int(text: str) -> int:
    """An integer written in decimal, in hex (`0x`), or in decimal with a k/M/G suffix; surrounding
    spaces are ignored. ValueError when `text` is none of these."""
    found = _INTEGER.fullmatch(text.strip())
    if found is None:
        raise ValueError("")
    sign, hex_digits, digits, suffix = found.groups()
    value = int(hex_digits, 16) if hex_digits is not None else int(digits) * _SUFFIXES[suffix]
    return -value if sign == "-" else value


def parse_bool(text: str) -> bool:
    """true/yes/1 or false/no/0, in any case; ValueError otherwise."""
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("")


def parse_duration(text: str) -> int:
    """A duration in nanoseconds (see the module docstring); ValueError when `text` is not one, or is
    not a whole number of nanoseconds (its message then says so)."""
    body = text.strip()
    sign = -1 if body.startswith("-") else 1
    body = body[1:] if body[:1] in "+-" and body else body
    if body == "0":
        return 0
    total = Fraction(0)
    position = 0
    while position < len(body):
        part = _DURATION_PART.match(body, position)
        if part is None:
            raise ValueError("")
        total += Fraction(part[1]) * DURATION_UNITS[part[2]]
        position = part.end()
    if position == 0:
        raise ValueError("")
    if total.denominator != 1:
        raise ValueError("it is not a whole number of nanoseconds")
    return sign * int(total)
