"""The event log writes every line exactly as a field-by-field formatter would, in JSON and text.

The event log compiles one `%` template per (map, field names) and uses it while each str and
int field keeps its type. These tests feed it records that keep, change and break their shape
and compare every line with `reference_json` / `reference_text`, the field-by-field formatting
it replaces.
"""

from __future__ import annotations

import enum
import io
import json
import math
import random
import re
from typing import Any

import pytest

from bee.sinks.eventlog import EventLog
from bee.sinks.lines import format_time, text_value

TS = 1_795_600_000.123456


def _default(value: object) -> object:
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, tuple):
        return list(value)
    return str(value)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, check_circular=False, default=_default).encode
_quote = json.encoder.encode_basestring  # type: ignore[attr-defined]


def reference_json(map_name: str, record: dict[str, Any], ts: float) -> str:
    fields = []
    for key, value in record.items():
        kind = type(value)
        if kind is str:
            text = _quote(value)
        elif kind is int:
            text = str(value)
        elif kind is bool:
            text = "true" if value else "false"
        else:
            try:
                text = _encode(value)
            except ValueError:
                text = _encode(_finite(value))
        fields.append(f"{_quote(key)}: {text}")
    return f'{{"time": "{format_time(ts)}", "map": {_quote(map_name)}, "event": {{{", ".join(fields)}}}}}\n'


def reference_text(map_name: str, record: dict[str, Any], ts: float) -> str:
    parts = [format_time(ts), map_name]
    for key, value in record.items():
        kind = type(value)
        if kind is str:
            if not value or _needs_quotes(value):
                value = _quote(value)
        elif kind is int:
            value = str(value)
        else:
            value = text_value(value)
        parts.append(f"{key}={value}")
    return " ".join(parts) + "\n"


_needs_quotes = re.compile(r'[\s="\x00-\x1f\x7f]').search
REFERENCE = {"json": reference_json, "text": reference_text}


def check(items: list[tuple[str, dict[str, Any], float]], fmt: str) -> None:
    expected = "".join(REFERENCE[fmt](*item) for item in items)
    assert written(items, fmt) == expected


def written(items: list[tuple[str, dict[str, Any], float]], fmt: str) -> str:
    out = io.StringIO()
    with EventLog(out, fmt=fmt, queue_size=len(items) + 1) as log:  # type: ignore[arg-type]
        for map_name, record, ts in items:
            assert log.emit(map_name, record, ts)
    return out.getvalue()


class Color(enum.IntEnum):
    RED = 1


class Name(str):
    pass


ODD_VALUES: list[Any] = [
    True, False, None, 0.5, -0.0, float("nan"), float("inf"), [1, 2], (3, "x"), b"\x01\xff", {"a": 1}, "",
    'q"uo\\te', "tab\t\nnl", "cürl", "%s %d %%", 2**64 - 1, -2**63, Color.RED, Name("sub"), 10**30,
]


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_stream_of_one_shape_is_written_as_field_by_field(fmt: str) -> None:
    items = [("print_events", {"ts": i, "pid": 7, "uid": 0, "ret": -2, "flags": 524288, "comm": "flood",
                               "fname": f"/tmp/f{i}"}, TS + i * 1e-6) for i in range(5000)]
    check(items, fmt)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_fields_that_change_type_shape_or_order_fall_back_exactly(fmt: str) -> None:
    base = {"pid": 1, "comm": "a", "ok": True, "ratio": 0.5}
    items = [
        ("m", dict(base), TS),
        ("m", {**base, "pid": "not an int"}, TS),  # int field now a str
        ("m", {**base, "comm": 5}, TS),  # str field now an int
        ("m", {**base, "pid": True}, TS),  # bool is not an int here
        ("m", {**base, "ok": 3}, TS),  # a generic field may hold anything
        ("m", {"comm": "a", "pid": 1, "ok": True, "ratio": 0.5}, TS),  # same names, other order
        ("m", {**base, "extra": 1}, TS),  # one more field
        ("m", {"pid": 1}, TS),  # fewer fields
        ("m", {}, TS),
        ("m", dict(base), TS),  # back to the first shape
        ("other", dict(base), TS),  # same fields, another map
        ("m", {**base, "pid": Color.RED}, TS),
        ("m", {**base, "comm": Name("subclass")}, TS),
    ]
    check(items, fmt)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_names_with_percent_signs_quotes_and_unicode(fmt: str) -> None:
    items = [("map %s \"x\" ü", {"%d": 1, 'k"ey': "v%s", "ü": "ö", "": 0}, TS)] * 3
    check(items, fmt)


@pytest.mark.parametrize("fmt", ["json", "text"])
@pytest.mark.parametrize("seed", range(20))
def test_random_records(seed: int, fmt: str) -> None:
    rng = random.Random(seed)
    names = ["a", "b", "c", "pid", "%x", "é"]
    shapes = [tuple(rng.sample(names, rng.randint(0, len(names)))) for _ in range(4)]
    items = []
    for i in range(400):
        shape = rng.choice(shapes)
        record = {}
        for j, name in enumerate(shape):
            roll = rng.random()
            if roll < 0.45:
                record[name] = rng.randint(-(2**63), 2**64)
            elif roll < 0.9:
                record[name] = "".join(rng.choice('ab "\\\n%é\x00') for _ in range(rng.randint(0, 8)))
            else:
                record[name] = rng.choice(ODD_VALUES)
            if j == 0 and rng.random() < 0.5:
                record[name] = i  # a field that is always an int
        ts = TS + rng.random() * 5  # seconds change now and then
        items.append((rng.choice(["m1", "m2"]), record, ts))
    check(items, fmt)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_times_across_second_boundaries_and_rounding(fmt: str) -> None:
    base = 1_795_600_000
    stamps = [base + 0.9999996, base + 0.9999994, base + 1.0, base + 1.5, base - 0.0000004, base + 3600.000001]
    items = [("m", {"n": i, "s": "x"}, ts) for i, ts in enumerate(stamps)]
    check(items, fmt)


def test_a_json_record_with_a_non_string_key_is_dropped_and_counted_as_before() -> None:
    out = io.StringIO()
    with EventLog(out, fmt="json") as log:
        log.emit("m", {"a": 1}, TS)
        log.emit("m", {1: 1}, TS)  # type: ignore[dict-item]
        log.emit("m", {"a": 2}, TS)
    assert out.getvalue() == reference_json("m", {"a": 1}, TS) + reference_json("m", {"a": 2}, TS)
    assert log.lost_by_map() == {"m": 1}


def test_text_writes_non_string_keys_as_before() -> None:
    items = [("m", {1: 1, "a": "b"}, TS), ("m", {1: 2, "a": "c"}, TS)]
    check(items, "text")  # type: ignore[arg-type]


def test_many_shapes_beyond_the_cache_still_format_exactly() -> None:
    items = [("m", {f"f{i}": i}, TS) for i in range(600)]
    check(items, "json")
    check(items, "text")
