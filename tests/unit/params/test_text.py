"""`bee.params.text`: integers, booleans and durations as people write them."""

from __future__ import annotations

import random

import pytest

from bee.decode.duration import format_duration
from bee.params.text import parse_bool, parse_duration, parse_int


@pytest.mark.parametrize(("text", "value"), [
    ("0", 0), ("42", 42), ("-42", -42), ("+7", 7), (" 12 ", 12), ("007", 7),
    ("0x1F", 31), ("0X1f", 31), ("-0x10", -16), ("0xffffffffffffffff", (1 << 64) - 1),
    ("64k", 64_000), ("3M", 3_000_000), ("2G", 2_000_000_000), ("-1k", -1000),
])
def test_integers(text: str, value: int) -> None:
    assert parse_int(text) == value


@pytest.mark.parametrize("text", ["", "x", "1.5", "1.5k", "0x10k", "1K", "1m", "1g", "k", "1_000", "0b101", "٤٢",
                                  "1e3", "--1", "0x", "1 000"])
def test_not_integers(text: str) -> None:
    with pytest.raises(ValueError):
        parse_int(text)


def test_integers_round_trip() -> None:
    """Every integer of every C width reads back from decimal and hex (a seeded sample and the edges)."""
    rng = random.Random(14)
    for bits in (8, 16, 32, 64, 128):
        edges = [0, 1, -1, (1 << (bits - 1)) - 1, -(1 << (bits - 1)), (1 << bits) - 1]
        for value in edges + [rng.randrange(-(1 << (bits - 1)), 1 << bits) for _ in range(500)]:
            assert parse_int(str(value)) == value
            assert parse_int(("-" if value < 0 else "") + hex(abs(value))) == value
            if value % 1000 == 0 and value:
                assert parse_int(f"{value // 1000}k") == value


@pytest.mark.parametrize(("text", "value"), [("true", True), ("TRUE", True), ("yes", True), ("1", True),
                                             ("false", False), ("No", False), ("0", False)])
def test_booleans(text: str, value: bool) -> None:
    assert parse_bool(text) is value


@pytest.mark.parametrize("text", ["", "on", "off", "2", "t", "y"])
def test_not_booleans(text: str) -> None:
    with pytest.raises(ValueError):
        parse_bool(text)


@pytest.mark.parametrize(("text", "nanoseconds"), [
    ("0", 0), ("100ns", 100), ("250us", 250_000), ("250µs", 250_000), ("250μs", 250_000), ("10ms", 10_000_000),
    ("1.5s", 1_500_000_000), (".5s", 500_000_000), ("1.s", 10**9), ("2m", 120 * 10**9), ("1h30m", 5400 * 10**9),
    ("1h2m3.5s", 3723_500_000_000), ("-2s", -2 * 10**9), ("+1ms", 10**6), ("1.000000001s", 1_000_000_001),
])
def test_durations(text: str, nanoseconds: int) -> None:
    assert parse_duration(text) == nanoseconds


@pytest.mark.parametrize("text", ["", "1", "10", "s", "1 s", "1sec", "1d", "1.0000000001s", "--1s", "1s2", "0.5ns"])
def test_not_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_a_fraction_of_a_nanosecond_says_so() -> None:
    with pytest.raises(ValueError, match="not a whole number of nanoseconds"):
        parse_duration("1.5ns")


def test_what_bee_prints_reads_back() -> None:
    """Every duration bee shows (Go's format) is a duration bee reads, to the nanosecond."""
    rng = random.Random(14)
    samples = [0, 1, 999, 1000, 1001, 10**9, (1 << 63) - 1, -(1 << 63) + 1]
    samples += [rng.randrange(-(1 << 63) + 1, 1 << 63) >> rng.randrange(0, 63) for _ in range(2000)]
    for value in samples:
        assert parse_duration(format_duration(value)) == value, format_duration(value)
