"""The one fallback of ring outputs: a batch the generated loop (grouping, line formatting) raises on is
handled again one decoded event at a time, with the same output, counted in `bee_events_fallback_total`
and logged once per map. The failing loop is simulated (a generated function that raises): no input of
the decoder test structs makes the real ones fail, which test_grouping.py and test_rows.py check."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Callable

import pytest

from bee.decode.grouping import Grouping
from bee.elf import ObjectSpec
from bee.run.outputs import RecordDecoder, RingCounter, RingPrint
from bee.sinks.eventlog import EventLog
from bee.sinks.filters import FilterSet
from bee.sinks.metrics import MetricsRegistry
from tests.unit.decode.test_grouping import _decoders, _region, _samples, _spec


def _raises(*_args: object) -> object:
    raise OverflowError("a value the generated loop does not expect")


@pytest.fixture
def decoder(spec: Callable[[str], ObjectSpec]) -> RecordDecoder:
    return next(d for d in _decoders(spec("values")) if d.size >= 8)


def _fallbacks(registry: MetricsRegistry, name: str) -> list[str]:
    return [line for line in registry.exposition().decode().splitlines()
            if line.startswith(f'bee_events_fallback_total{{map="{name}"}}')]


def test_a_counter_batch_the_grouping_raises_on_is_counted_one_by_one(decoder: RecordDecoder,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    samples = [s for s in _samples(decoder.size, seed=3) if len(s) == decoder.size]
    expected_registry = MetricsRegistry()
    with_view = RingCounter(_spec("counter_events", "counter"), decoder, expected_registry, lambda record: None)
    with_view.handle_batch(samples)  # a view: every event decoded, then counted one by one
    registry = MetricsRegistry()
    output = RingCounter(_spec("counter_events", "counter"), decoder, registry)
    assert output.grouping is not None
    output.grouping = Grouping(decoder.size, _raises, None, lambda key: key)
    with caplog.at_level(logging.WARNING, logger="bee.run"):
        output.handle_batch(samples)
        output.handle_batch(samples[:10])
    counted = [line for line in registry.exposition().decode().splitlines() if line.startswith("ebpf_")]
    twice = MetricsRegistry()
    reference = RingCounter(_spec("counter_events", "counter"), decoder, twice, lambda record: None)
    reference.handle_batch(samples)
    reference.handle_batch(samples[:10])
    assert counted == [line for line in twice.exposition().decode().splitlines() if line.startswith("ebpf_")]
    assert _fallbacks(registry, "counter_events") == [f'bee_events_fallback_total{{map="counter_events"}} '
                                                      f"{len(samples) + 10}"]
    warnings = [r.getMessage() for r in caplog.records if "decoded one by one" in r.getMessage()]
    assert len(warnings) == 1 and "map counter_events" in warnings[0] and "OverflowError" in warnings[0]
    assert _fallbacks(expected_registry, "counter_events") == []  # decoding for a view is no fallback


def test_a_print_batch_the_line_loop_raises_on_gives_the_same_lines(decoder: RecordDecoder) -> None:
    samples = [s for s in _samples(decoder.size, seed=4) if len(s) == decoder.size][:50]

    def lines(broken: bool) -> tuple[list[str], MetricsRegistry]:
        stream = io.StringIO()
        log = EventLog(stream, fmt="json")
        registry = MetricsRegistry()
        used = decoder
        if broken:
            real = decoder.compile_rows
            assert real is not None
            used = RecordDecoder(decoder.fields, decoder.size, decoder.decode, decoder.kinds,
                                 lambda *args: _raises, decoder.compile_records, decoder.compile_grouping)
            assert real is not used.compile_rows
        output = RingPrint(_spec("print_events", "print"), used, registry, log, FilterSet(()))
        output.handle_batch(samples)
        log.close()
        return [line.split('"map"', 1)[1] for line in stream.getvalue().splitlines()], registry

    expected, _ = lines(broken=False)
    got, registry = lines(broken=True)
    assert got == expected and len(got) == len(samples)
    assert _fallbacks(registry, "print_events") == [f'bee_events_fallback_total{{map="print_events"}} {len(samples)}']


def test_records_read_in_place_that_the_grouping_raises_on_are_counted_one_by_one(decoder: RecordDecoder) -> None:
    samples = [s for s in _samples(decoder.size, seed=6) if len(s) == decoder.size][:30]
    region = bytearray(_region(samples, decoder.size))
    stride = len(region) // len(samples)
    region[20 * stride:20 * stride + 4] = (decoder.size | 1 << 31).to_bytes(4, sys.byteorder)  # 21st still busy
    registry = MetricsRegistry()
    output = RingCounter(_spec("counter_events", "counter"), decoder, registry)
    assert output.grouping is not None
    output.grouping = Grouping(decoder.size, _raises, _raises, lambda key: key)
    reader = output.record_reader()
    assert reader is not None
    assert reader[1](memoryview(bytes(region))) == 20
    expected_registry = MetricsRegistry()
    with_view = RingCounter(_spec("counter_events", "counter"), decoder, expected_registry, lambda r: None)
    with_view.handle_batch(samples[:20])
    assert registry.exposition() != expected_registry.exposition()  # only by the fallback's own series
    assert [line for line in registry.exposition().decode().splitlines() if "fallback" not in line] == \
        expected_registry.exposition().decode().splitlines()
    assert _fallbacks(registry, "counter_events") == ['bee_events_fallback_total{map="counter_events"} 20']
