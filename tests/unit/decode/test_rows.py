"""Samples → event-log lines in one generated loop (`Decoder.compile_rows`) give exactly the lines of
the record path (decode to a dict, `EventLog.emit`, the writer's formatter), for every struct of the
decoder test programs, both byte orders and both formats, on random bytes; and `Decoder.kinds`
names the type each field's value always has."""

from __future__ import annotations

import io
import json
import random
import struct
import sys
from collections.abc import Callable, Iterator

import pytest

from bee.decode import Decoder, compile_decoder
from bee.elf import ObjectSpec
from bee.elf.btf_types import Composite
from bee.sinks.eventlog import EventLog
from bee.sinks.filters import FilterSet

PROGRAMS = ("layout", "values", "ipv6")
KIND_TYPES = {"int": int, "bool": bool, "str": str, "float": float}
TS = 1_790_000_000.123456


def _decoders(spec: ObjectSpec) -> Iterator[Decoder]:
    assert spec.btf is not None
    for t in spec.btf:
        if isinstance(t, Composite) and t.name and t.size:
            yield compile_decoder(spec.btf, t.id, endian=spec.endian)


@pytest.fixture(scope="module")
def decoders(spec: Callable[[str], ObjectSpec], layout_be: ObjectSpec) -> list[Decoder]:
    found = [d for name in PROGRAMS for d in _decoders(spec(name))] + list(_decoders(layout_be))
    assert len(found) >= 10
    return found


def _samples(decoder: Decoder, count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    samples = [bytes(rng.getrandbits(8) for _ in range(decoder.size)) for _ in range(count)]
    samples.append(bytes(decoder.size))  # all zero: empty strings, false, enumerator 0
    samples.append(b"\xff" * decoder.size)
    return samples


def _record_lines(decoder: Decoder, samples: list[bytes], fmt: str) -> str:
    out = io.StringIO()
    with EventLog(out, fmt=fmt) as log:  # type: ignore[arg-type]
        for data in samples:
            if len(data) >= decoder.size:
                log.emit("events", decoder.decode(data), TS)
    return out.getvalue()


def _rows_lines(decoder: Decoder, samples: list[bytes], fmt: str) -> tuple[str, int]:
    out = io.StringIO()
    with EventLog(out, fmt=fmt) as log:  # type: ignore[arg-type]
        line = log.line_template("events", list(zip(decoder.fields, decoder.kinds, strict=True)))
        assert decoder.compile_rows is not None
        rows = decoder.compile_rows(line.template, line.args, dict(line.scope))
        lines, short = rows(samples, *line.clock.parts(TS))
        log.emit_lines("events", lines)
    return out.getvalue(), short


def test_kinds_name_the_type_of_every_value(decoders: list[Decoder]) -> None:
    checked = 0
    for decoder in decoders:
        assert len(decoder.kinds) == len(decoder.fields)
        for data in _samples(decoder, 30, seed=1):
            record = decoder.decode(data)
            for (name, value), kind in zip(record.items(), decoder.kinds, strict=True):
                if kind != "any":
                    assert type(value) is KIND_TYPES[kind], (decoder.type_name, name, value, kind)
                    checked += 1
    assert checked > 1000


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_rows_give_the_lines_of_the_record_path(decoders: list[Decoder], fmt: str) -> None:
    for decoder in decoders:
        samples = _samples(decoder, 200, seed=hash((decoder.type_name, fmt)) & 0xFFFF)
        expected = _record_lines(decoder, samples, fmt)
        got, short = _rows_lines(decoder, samples, fmt)
        assert short == 0
        assert got == expected, decoder.type_name
        assert got.count("\n") == len(samples)


def test_short_samples_give_no_line_and_are_counted(decoders: list[Decoder]) -> None:
    decoder = max(decoders, key=lambda d: d.size)
    samples = _samples(decoder, 3, seed=7)
    mixed = [samples[0], samples[1][: decoder.size - 1], b"", samples[2]]
    got, short = _rows_lines(decoder, mixed, "json")
    assert short == 2
    assert got == _record_lines(decoder, [samples[0], samples[2]], "json")


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_percent_signs_and_braces_in_names_are_text(decoders: list[Decoder], fmt: str) -> None:
    decoder = decoders[0]
    samples = _samples(decoder, 3, seed=3)
    name = "m%d{x}%%s'\"\\"
    out = io.StringIO()
    with EventLog(out, fmt=fmt) as log:  # type: ignore[arg-type]
        line = log.line_template(name, list(zip(decoder.fields, decoder.kinds, strict=True)))
        assert decoder.compile_rows is not None
        rows = decoder.compile_rows(line.template, line.args, dict(line.scope))
        log.emit_lines(name, rows(samples, *line.clock.parts(TS))[0])
    expected = io.StringIO()
    with EventLog(expected, fmt=fmt) as log:  # type: ignore[arg-type]
        for data in samples:
            log.emit(name, decoder.decode(data), TS)
    assert out.getvalue() == expected.getvalue()
    first = out.getvalue().splitlines()[0]
    assert (json.loads(first)["map"] if fmt == "json" else first.split(" ")[1]) == name


def test_a_template_that_does_not_fit_is_refused(decoders: list[Decoder]) -> None:
    decoder = decoders[0]
    assert decoder.compile_rows is not None
    args = tuple("{v}" for _ in decoder.fields)
    fields = " ".join("%d" for _ in decoder.fields)
    with pytest.raises(ValueError, match="does not hold the time"):
        decoder.compile_rows(f"{fields}\n", args, {})
    with pytest.raises(ValueError, match="does not hold the time"):
        decoder.compile_rows(f"%s%06d {fields} %d\n", args, {})
    with pytest.raises(ValueError, match="unsupported % directive"):
        decoder.compile_rows(f"%s%06d %x {fields}\n", args, {})
    with pytest.raises(ValueError, match="value expressions"):
        decoder.compile_rows(f"%s%06d {fields}\n", args[1:], {})
    with pytest.raises(ValueError, match="guard names a field"):
        decoder.compile_rows(f"%s%06d {fields}\n", args, {}, (("no_such_field", bool),))


def _region(samples: list[bytes], size: int, lengths: list[int] | None = None) -> memoryview:
    """Ring records as the kernel lays them out: u32 length (host order), 4 bytes, sample, padding to 8."""
    stride = (size + 15) // 8 * 8
    out = bytearray()
    for i, data in enumerate(samples):
        length = lengths[i] if lengths else len(data)
        out += struct.pack("=I4x", length) + data + bytes(stride - 8 - len(data))
    return memoryview(bytes(out))


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_records_read_in_place_give_the_lines_of_the_samples(decoders: list[Decoder], fmt: str) -> None:
    compiled = 0
    for decoder in decoders:
        if decoder.formats and decoder.formats[0][0] != ("<" if sys.byteorder == "little" else ">"):
            continue  # records are read in place only in the host's byte order
        log = EventLog(io.StringIO(), fmt=fmt)  # type: ignore[arg-type]
        line = log.line_template("events", list(zip(decoder.fields, decoder.kinds, strict=True)))
        assert decoder.compile_rows is not None and decoder.compile_records is not None
        records = decoder.compile_records(line.template, line.args, dict(line.scope))
        log.close()
        if records is None:
            assert len(decoder.formats) > 1  # overlapping reads: one format cannot split them
            continue
        compiled += 1
        rows = decoder.compile_rows(line.template, line.args, dict(line.scope))
        samples = _samples(decoder, 50, seed=5)
        parts = line.clock.parts(TS)
        expected = rows(samples, *parts)[0]
        assert records(_region(samples, decoder.size), *parts) == (expected, len(samples)), decoder.type_name
        lengths = [decoder.size] * 10 + [decoder.size | 1 << 31] + [decoder.size] * 5  # the 11th is busy
        assert records(_region(samples[:16], decoder.size, lengths), *parts) == (expected[:10], 10)
    assert compiled >= 5


@pytest.mark.parametrize("regex", ["[0-4]", "^-", "e"])
def test_guards_keep_exactly_the_lines_the_filters_pass(decoders: list[Decoder], regex: str) -> None:
    """A filter compiled into the loop (`guards`) leaves the lines of the events `FilterSet.matches`
    passes, from samples and from records read in place; the records are all counted as read."""
    kept = dropped = 0
    for decoder in decoders:
        samples = _samples(decoder, 60, seed=11)
        for field in decoder.fields[:3]:
            filters = FilterSet.parse([f"events,{field},{regex}"])
            passing = [data for data in samples if filters.matches("events", decoder.decode(data))]
            kept, dropped = kept + len(passing), dropped + len(samples) - len(passing)
            guards = tuple((f.key, f.accepts) for f in filters.for_map("events"))
            log = EventLog(io.StringIO(), fmt="json")  # type: ignore[arg-type]
            line = log.line_template("events", list(zip(decoder.fields, decoder.kinds, strict=True)))
            log.close()
            assert decoder.compile_rows is not None and decoder.compile_records is not None
            parts = line.clock.parts(TS)
            expected = decoder.compile_rows(line.template, line.args, dict(line.scope))(passing, *parts)[0]
            rows = decoder.compile_rows(line.template, line.args, dict(line.scope), guards)
            assert rows(samples, *parts) == (expected, 0), (decoder.type_name, field)
            records = decoder.compile_records(line.template, line.args, dict(line.scope), guards)
            if records is not None and decoder.formats[0][0] == ("<" if sys.byteorder == "little" else ">"):
                assert records(_region(samples, decoder.size), *parts) == (expected, len(samples))
    assert kept > 100 and dropped > 100  # the filters both keep and drop

