"""Go's `time.Duration.String()`, exactly: `0s`, `1ns`, `1.1µs`, `1.5ms`, `2s`, `1m30s`, `1h2m3.5s`.

Built on one `str(int)` and slicing: it runs once per duration field per event.
"""

from __future__ import annotations

_SECOND = 1_000_000_000
_MINUTE = 60 * _SECOND
_TWO_63 = 1 << 63
_TWO_64 = 1 << 64


def as_int64(value: int) -> int:
    """`value` wrapped to a signed 64-bit integer, as Go's `time.Duration(uint64)` conversion does."""
    return (value + _TWO_63) % _TWO_64 - _TWO_63


def format_duration(nanoseconds: int) -> str:
    """Nanoseconds as Go prints a `time.Duration` (the value is first wrapped to int64).

    Below one second the unit is ns, µs (U+00B5) or ms, the largest that keeps a non-zero
    integer part, with up to 3 or 6 fraction digits; from one second on the text is
    `[<h>h<m>m | <m>m]<s>[.<fraction>]s`. Trailing fraction zeros are dropped; negative
    durations get a leading `-`.
    """
    if 0 <= nanoseconds < _TWO_63:
        return _unsigned(nanoseconds)
    value = as_int64(nanoseconds)
    return _unsigned(value) if value >= 0 else "-" + _unsigned(-value)


def _unsigned(u: int) -> str:
    if u < _SECOND:
        if u < 1_000:
            return f"{u}ns" if u else "0s"
        digits = str(u)
        if u < 1_000_000:
            whole, frac, unit = digits[:-3], digits[-3:].rstrip("0"), "µs"
        else:
            whole, frac, unit = digits[:-6], digits[-6:].rstrip("0"), "ms"
        return f"{whole}.{frac}{unit}" if frac else whole + unit
    minutes, rest = divmod(u, _MINUTE)
    digits = str(rest + 100 * _SECOND)  # "1", two digits of seconds, nine of fraction
    seconds = digits[1:3] if digits[1] != "0" else digits[2]
    frac = digits[3:].rstrip("0")
    text = f"{seconds}.{frac}s" if frac else seconds + "s"
    if not minutes:
        return text
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes}m{text}" if hours else f"{minutes}m{text}"
