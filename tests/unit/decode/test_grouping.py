"""`counter_` and `hist_` ring buffers grouped per batch (`bee.decode.grouping`) give exactly the metrics of
every event decoded, then counted or observed one by one (as for a view): the same exposition text, to the
last byte, for every struct of the decoder test programs (unions, nested structs, arrays of structs,
bitfields), both byte orders, every numeric field as the histogram's value, from libbpf's samples and
from ring records read in place."""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Iterator

import pytest

from bee.elf import ObjectSpec
from bee.elf.btf_types import Composite
from bee.elf.maps import MapSpec
from bee.run.outputs import RecordDecoder, RingCounter, RingHistogram, record_decoder
from bee.sinks.metrics import MetricsRegistry

PROGRAMS = ("layout", "values", "ipv6")
NUMERIC = ("int", "float", "bool")


def _decoders(spec: ObjectSpec) -> Iterator[RecordDecoder]:
    assert spec.btf is not None
    for t in spec.btf:
        if isinstance(t, Composite) and t.name and t.size:
            yield record_decoder(spec.btf, t.id, "value", spec.endian)


@pytest.fixture(scope="module")
def decoders(spec: Callable[[str], ObjectSpec], layout_be: ObjectSpec) -> list[RecordDecoder]:
    found = [d for name in PROGRAMS for d in _decoders(spec(name))] + list(_decoders(layout_be))
    assert len(found) >= 10
    return found


def _samples(size: int, seed: int) -> list[bytes]:
    """Random events with many repeats (what grouping gains on), all-zero and all-ones ones, and two short."""
    rng = random.Random(seed)
    distinct = [bytes(rng.getrandbits(8) for _ in range(size)) for _ in range(40)]
    samples = [rng.choice(distinct) for _ in range(400)] + [bytes(size), b"\xff" * size]
    samples.insert(100, samples[0][: size - 1])
    samples.insert(200, b"")
    return samples


def _region(samples: list[bytes], size: int) -> memoryview:
    """Ring records back to back as the kernel writes them: length header, 4 bytes, sample, padding to 8."""
    stride = (size + 8 + 7) & ~7
    out = bytearray()
    for data in samples:
        out += struct.pack("=I4x", size) + data + bytes(stride - 8 - size)
    return memoryview(bytes(out))


def _spec(name: str, output: str) -> MapSpec:
    return MapSpec(name=name, section=".maps", map_type=27, type_name="ringbuf", output=output, tracked=True)


def _make(decoder: RecordDecoder, value_field: str | None, grouped: bool) -> tuple[MetricsRegistry, object]:
    registry = MetricsRegistry()
    show = None if grouped else (lambda record: None)  # a view: every event decoded, then counted one by one
    if value_field is None:
        return registry, RingCounter(_spec("counter_events", "counter"), decoder, registry, show)
    return registry, RingHistogram(_spec("hist_events", "hist"), decoder, registry, value_field, None, show)


def _cases(decoders: list[RecordDecoder]) -> Iterator[tuple[RecordDecoder, str | None]]:
    for decoder in decoders:
        yield decoder, None
        for field, kind in zip(decoder.fields, decoder.kinds, strict=True):
            if kind in NUMERIC:
                yield decoder, field


def test_grouped_batches_give_the_metrics_of_the_record_path(decoders: list[RecordDecoder]) -> None:
    grouped_cases = 0
    for decoder, value_field in _cases(decoders):
        samples = _samples(decoder.size, seed=hash((decoder.size, value_field)) & 0xFFFF)
        expected_registry, expected = _make(decoder, value_field, grouped=False)
        got_registry, got = _make(decoder, value_field, grouped=True)
        for start in range(0, len(samples), 150):  # several batches, as several wake-ups
            expected.handle_batch(samples[start:start + 150])  # type: ignore[attr-defined]
            got.handle_batch(samples[start:start + 150])  # type: ignore[attr-defined]
        grouped_cases += got.grouping is not None  # type: ignore[attr-defined]
        assert got_registry.exposition() == expected_registry.exposition(), (decoder.fields, value_field)
    assert grouped_cases >= 40  # grouping is really used, not only the record path compared with itself


def test_records_read_in_place_give_the_same_metrics(decoders: list[RecordDecoder]) -> None:
    for decoder, value_field in _cases(decoders):
        samples = [s for s in _samples(decoder.size, seed=5) if len(s) == decoder.size]
        expected_registry, expected = _make(decoder, value_field, grouped=False)
        expected.handle_batch(samples)  # type: ignore[attr-defined]
        got_registry, got = _make(decoder, value_field, grouped=True)
        reader = got.record_reader()  # type: ignore[attr-defined]
        if reader is None:
            assert got.grouping is None  # type: ignore[attr-defined]
            continue
        size, read = reader
        assert size == decoder.size
        assert read(_region(samples, size)) == len(samples)
        assert got_registry.exposition() == expected_registry.exposition(), (decoder.fields, value_field)


def test_a_record_of_another_length_ends_the_read_in_place(decoders: list[RecordDecoder]) -> None:
    decoder = max((d for d in decoders if any(k in NUMERIC for k in d.kinds)), key=lambda d: d.size)
    for value_field in (None, next(f for f, k in zip(decoder.fields, decoder.kinds, strict=True) if k in NUMERIC)):
        samples = [s for s in _samples(decoder.size, seed=9) if len(s) == decoder.size][:20]
        region = bytearray(_region(samples, decoder.size))
        stride = len(region) // len(samples)
        struct.pack_into("=I", region, 7 * stride, decoder.size | 1 << 31)  # record 7 still being written
        registry, output = _make(decoder, value_field, grouped=True)
        size, read = output.record_reader()  # type: ignore[attr-defined]
        assert read(memoryview(bytes(region))) == 7
        expected_registry, expected = _make(decoder, value_field, grouped=False)
        expected.handle_batch(samples[:7])  # type: ignore[attr-defined]
        assert registry.exposition() == expected_registry.exposition()


def test_a_value_sharing_bytes_with_a_label_is_not_grouped(spec: Callable[[str], ObjectSpec]) -> None:
    """Bitfields share their storage unit: such a value cannot be cut out of the key, so no grouping."""
    layout = spec("layout")
    refused = []
    for decoder in _decoders(layout):
        for field, kind in zip(decoder.fields, decoder.kinds, strict=True):
            if kind in NUMERIC and decoder.compile_grouping is not None and decoder.compile_grouping(field) is None:
                refused.append(field)
    assert refused  # the bitfield struct of dec_layout has such fields
