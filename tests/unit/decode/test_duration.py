"""bee.decode.duration: Go's time.Duration.String(), checked against outputs of Go itself."""

from __future__ import annotations

import random

import pytest

from bee.decode import format_duration
from bee.decode.duration import as_int64

NS, US, MS, S = 1, 1_000, 1_000_000, 1_000_000_000
MIN, H = 60 * S, 3600 * S

# Go's own table (time_test.go, durationTests) first, then more values printed by Go.
GO_OUTPUTS = [
    ("0s", 0),
    ("1ns", 1 * NS),
    ("1.1µs", 1100 * NS),
    ("2.2ms", 2200 * US),
    ("3.3s", 3300 * MS),
    ("4m5s", 4 * MIN + 5 * S),
    ("4m5.001s", 4 * MIN + 5001 * MS),
    ("5h6m7.001s", 5 * H + 6 * MIN + 7001 * MS),
    ("8m0.000000001s", 8 * MIN + 1 * NS),
    ("2562047h47m16.854775807s", (1 << 63) - 1),
    ("-2562047h47m16.854775808s", -(1 << 63)),
    ("1.5ms", 1_500_000),
    ("1m30s", 90 * S),
    ("1h2m3.5s", 3_723_500_000_000),
    ("999ns", 999),
    ("1µs", 1000),
    ("1.001µs", 1001),
    ("999.999µs", 999_999),
    ("1ms", MS),
    ("1.000001ms", MS + 1),
    ("999.999999ms", S - 1),
    ("1s", S),
    ("1.000000001s", S + 1),
    ("59.999999999s", MIN - 1),
    ("1m0s", MIN),
    ("1h0m0s", H),
    ("1h0m0.5s", H + 500 * MS),
    ("100h0m1s", 100 * H + S),
    ("-1ns", -1),
    ("-1.5µs", -1500),
    ("-1.5ms", -1_500_000),
    ("-2s", -2 * S),
    ("-1m30s", -90 * S),
    ("-1h2m3.5s", -3_723_500_000_000),
]


@pytest.mark.parametrize(("text", "nanoseconds"), GO_OUTPUTS)
def test_matches_go(text: str, nanoseconds: int) -> None:
    assert format_duration(nanoseconds) == text


def test_micro_sign_is_u00b5() -> None:
    assert format_duration(1500) == "1.5\u00b5s"


@pytest.mark.parametrize(("value", "text"), [
    ((1 << 64) - 1, "-1ns"),  # a u64 read from the kernel, converted like Go's time.Duration(u64)
    (1 << 63, "-2562047h47m16.854775808s"),
    ((1 << 64) + 5, "5ns"),
])
def test_values_wrap_to_int64(value: int, text: str) -> None:
    assert format_duration(value) == text


def test_as_int64() -> None:
    assert [as_int64(v) for v in (0, (1 << 63) - 1, 1 << 63, (1 << 64) - 1, -1)] == [
        0, (1 << 63) - 1, -(1 << 63), -1, -1]


def _go_port(d: int) -> str:
    """A line-by-line port of Go's `Duration.format` (time/time.go): a second opinion for random values."""
    buf = [""] * 32
    w = len(buf)
    neg = d < 0
    u = (-d if neg else d) % (1 << 64)

    def fmt_frac(w: int, v: int, prec: int) -> tuple[int, int]:
        printed = False
        for _ in range(prec):
            digit = v % 10
            printed = printed or digit != 0
            if printed:
                w -= 1
                buf[w] = str(digit)
            v //= 10
        if printed:
            w -= 1
            buf[w] = "."
        return w, v

    def fmt_int(w: int, v: int) -> int:
        if v == 0:
            w -= 1
            buf[w] = "0"
        while v > 0:
            w -= 1
            buf[w] = str(v % 10)
            v //= 10
        return w

    if u < S:
        w -= 1
        buf[w] = "s"
        w -= 1
        if u == 0:
            return "0s"
        if u < US:
            prec, buf[w] = 0, "n"
        elif u < MS:
            prec, buf[w] = 3, "µ"
        else:
            prec, buf[w] = 6, "m"
        w, u = fmt_frac(w, u, prec)
        w = fmt_int(w, u)
    else:
        w -= 1
        buf[w] = "s"
        w, u = fmt_frac(w, u, 9)
        w = fmt_int(w, u % 60)
        u //= 60
        if u > 0:
            w -= 1
            buf[w] = "m"
            w = fmt_int(w, u % 60)
            u //= 60
            if u > 0:
                w -= 1
                buf[w] = "h"
                w = fmt_int(w, u)
    if neg:
        w -= 1
        buf[w] = "-"
    return "".join(buf[w:])


def test_agrees_with_a_port_of_go_on_random_values() -> None:
    rng = random.Random(1234)
    values = [rng.randrange(-(10 ** rng.randrange(1, 19)), 10 ** rng.randrange(1, 19)) for _ in range(5000)]
    values += [rng.choice((1, 10, 100)) * 10 ** rng.randrange(0, 16) for _ in range(500)]  # round numbers
    for value in values:
        assert format_duration(value) == _go_port(value), value


@pytest.mark.parametrize(("text", "nanoseconds"), GO_OUTPUTS)
def test_port_of_go_agrees_with_the_table(text: str, nanoseconds: int) -> None:
    assert _go_port(nanoseconds) == text
