"""Polled maps without the kernel: per-CPU values split (`bee.libbpf.map.split_per_cpu`) and summed
(`bee.run.outputs.values`), and what the outputs of hash and array maps make of the entries the poller hands them."""

from __future__ import annotations

import struct

import pytest

from bee.elf.histograms import LINEAR, LOG2, HistogramLayout
from bee.elf.maps import (
    BPF_MAP_TYPE_ARRAY,
    BPF_MAP_TYPE_HASH,
    BPF_MAP_TYPE_PERCPU_ARRAY,
    BPF_MAP_TYPE_PERCPU_HASH,
    MapSpec,
)
from bee.libbpf.map import split_per_cpu
from bee.run.outputs import HashCounter, HashGauge, HashPrint, RecordDecoder
from bee.run.outputs.hashmap import HashHistogram
from bee.run.outputs.values import Counts, IntValue, SlotsValue, int_format, sum_columns, sum_wrapped, wrap
from bee.sinks.filters import FilterSet
from bee.sinks.metrics import MetricsRegistry

U64, S64, U32 = struct.Struct("<Q"), struct.Struct("<q"), struct.Struct("<I")


def test_split_per_cpu_drops_the_padding_to_8_bytes() -> None:
    # three CPUs of u32 values: each padded to 8 bytes
    assert split_per_cpu(b"AAAA----BBBB----CCCC----", 4) == [b"AAAA", b"BBBB", b"CCCC"]
    assert split_per_cpu(b"12345678" * 2, 8) == [b"12345678"] * 2
    assert split_per_cpu(b"abcdefghijkl----" + b"mnopqrstuvwx----", 12) == [b"abcdefghijkl", b"mnopqrstuvwx"]


def test_sums_wrap_as_the_c_type_would() -> None:
    assert wrap(2**64 + 5, 64, False) == 5
    assert wrap(2**64 - 1, 64, True) == -1
    # a gauge raised twice on CPU 0 and lowered once on CPU 1 (u64: 2^64 - 1 there)
    assert sum_wrapped([2, 2**64 - 1], 64, False) == 1
    assert sum_wrapped([-3, 1], 64, True) == -2
    assert sum_wrapped([200, 100], 8, False) == 44
    assert sum_columns([(1, 2, 3), (10, 20, 30)], 64, False) == (11, 22, 33)
    with pytest.raises(ValueError):
        sum_columns([(1, 2), (1,)], 64, False)


def test_int_values_one_and_per_cpu() -> None:
    unsigned, signed = IntValue(int_format(8, False, "little")), IntValue(int_format(8, True, "little"))
    assert unsigned.one(U64.pack(7)) == 7 and unsigned.one(b"abc") is None
    assert unsigned.per_cpu([U64.pack(2), U64.pack(2**64 - 1)]) == 1
    assert signed.per_cpu([S64.pack(-5), S64.pack(2)]) == -3
    assert signed.per_cpu([S64.pack(1), b"\0"]) is None
    assert IntValue(int_format(4, False, "big")).one(b"\0\0\1\0") == 256


def test_slot_values_one_and_per_cpu() -> None:
    with_sum = SlotsValue(HistogramLayout(LOG2, 3, 8, 4, False, 0, 8, False), "little")  # u64 sum, then u32[3]
    data = U64.pack(99) + struct.pack("<3I", 1, 2, 3)
    assert with_sum.size == 20
    assert with_sum.one(data) == Counts((1, 2, 3), 99) and with_sum.one(data[:-1]) is None
    assert with_sum.per_cpu([data, U64.pack(1) + struct.pack("<3I", 10, 0, 1)]) == Counts((11, 2, 4), 100)
    assert with_sum.per_cpu([]) is None
    plain = SlotsValue(HistogramLayout(LINEAR, 2, 0, 8, False, width=5), "little")
    assert plain.one(U64.pack(4) + U64.pack(5)) == Counts((4, 5), None)
    assert Counts((4, 5)).count == 9 and plain.is_zero(Counts((0, 0))) and not plain.is_zero(Counts((0, 1)))


def _spec(name: str, map_type: int, type_name: str, output: str, max_entries: int = 8) -> MapSpec:
    return MapSpec(name=name, section=".maps", map_type=map_type, type_name=type_name, max_entries=max_entries,
                   key_size=4, output=output, tracked=True)


INDEX = RecordDecoder(("index",), 4, lambda data: {"index": U32.unpack(data)[0]})


def test_an_array_shows_only_entries_that_were_ever_non_zero() -> None:
    registry = MetricsRegistry()
    shown: list[list[dict]] = []
    counter = HashCounter(_spec("counter_arr", BPF_MAP_TYPE_ARRAY, "array", "counter"), INDEX, IntValue(U64),
                          registry, shown.append)
    entries = [(U32.pack(i), U64.pack(5 if i == 3 else 0)) for i in range(8)]
    counter.update(entries)
    assert shown[-1] == [{"index": 3, "value": 5}]
    entries[3] = (U32.pack(3), U64.pack(0))  # back to zero (a reset): it stays, at its count
    entries[6] = (U32.pack(6), U64.pack(1))
    counter.update(entries)
    assert shown[-1] == [{"index": 3, "value": 0}, {"index": 6, "value": 1}]
    assert [line for line in registry.exposition().decode().splitlines() if line.startswith("ebpf")] == [
        'ebpf_solo_io_counter_arr{index="3"} 5', 'ebpf_solo_io_counter_arr{index="6"} 1']


def test_an_array_of_one_entry_has_one_series_without_labels() -> None:
    registry = MetricsRegistry()
    none = RecordDecoder((), 4, lambda data: {})
    gauge = HashGauge(_spec("gauge_one", BPF_MAP_TYPE_ARRAY, "array", "gauge", 1), none, IntValue(S64), registry)
    gauge.update([(U32.pack(0), S64.pack(0))])
    assert "ebpf_solo_io_gauge_one 0" in registry.exposition().decode().splitlines()
    gauge.update([(U32.pack(0), S64.pack(-5))])
    assert "ebpf_solo_io_gauge_one -5" in registry.exposition().decode().splitlines()


def test_per_cpu_entries_are_summed_for_gauges_prints_and_histograms(tmp_path) -> None:  # type: ignore[no-untyped-def]
    registry = MetricsRegistry()
    level = HashGauge(_spec("gauge_level", BPF_MAP_TYPE_PERCPU_ARRAY, "percpu_array", "gauge", 1),
                      RecordDecoder((), 4, lambda data: {}), IntValue(U64), registry)
    assert level.per_cpu and not level.sparse
    level.update([(U32.pack(0), [U64.pack(2), U64.pack(2**64 - 1)])])
    assert "ebpf_solo_io_gauge_level 1" in registry.exposition().decode().splitlines()

    class Log:
        def __init__(self) -> None:
            self.lines: list[tuple[str, dict]] = []

        def channel(self, name: str, program: str | None) -> str:
            return name

        def emit(self, channel: str, record: dict) -> None:
            self.lines.append((channel, record))

    log = Log()
    printed = HashPrint(_spec("print_pcpu", BPF_MAP_TYPE_PERCPU_HASH, "percpu_hash", "print"), INDEX,
                        IntValue(U32), log, FilterSet.parse(()))  # type: ignore[arg-type]
    printed.update([(U32.pack(1), [U32.pack(1), U32.pack(2)])])
    printed.update([(U32.pack(1), [U32.pack(2), U32.pack(1)])])  # the same sum: not printed again
    printed.update([(U32.pack(1), [U32.pack(2), U32.pack(2)])])
    assert log.lines == [("print_pcpu", {"index": 1, "value": 3}), ("print_pcpu", {"index": 1, "value": 4})]

    layout = HistogramLayout(LOG2, 3, 0, 8, False)
    family = registry.slot_histogram("log2hist_pcpu", ("index",), layout.bounds, help="h", has_sum=False)
    hist = HashHistogram(_spec("log2hist_pcpu", BPF_MAP_TYPE_PERCPU_HASH, "percpu_hash", "log2hist"), INDEX,
                         SlotsValue(layout, "little"), family)
    hist.update([(U32.pack(2), [struct.pack("<3Q", 1, 0, 2), struct.pack("<3Q", 0, 4, 1)])])
    text = registry.exposition().decode()
    assert 'ebpf_solo_io_log2hist_pcpu_bucket{index="2",le="1"} 1' in text
    assert 'ebpf_solo_io_log2hist_pcpu_bucket{index="2",le="3"} 5' in text
    assert 'ebpf_solo_io_log2hist_pcpu_bucket{index="2",le="+Inf"} 8' in text
    assert 'ebpf_solo_io_log2hist_pcpu_count{index="2"} 8' in text and "_sum" not in text
    hist.update([])  # the key was deleted: its series goes
    assert "log2hist_pcpu_bucket" not in registry.exposition().decode()


def _counting(stable: bool) -> tuple[RecordDecoder, list[bytes]]:
    """A decoder of u32 keys (`id`) that records every key it decodes."""
    decoded: list[bytes] = []

    def decode(data: bytes) -> dict:
        decoded.append(data)
        return {"id": U32.unpack(data)[0]}

    return RecordDecoder(("id",), 4, decode, stable=stable), decoded


def test_a_stable_key_is_decoded_once_while_it_stays_in_the_map() -> None:
    registry = MetricsRegistry()
    key, decoded = _counting(stable=True)
    counter = HashCounter(_spec("counter_ids", BPF_MAP_TYPE_HASH, "hash", "counter"), key, IntValue(U64), registry)
    counter.update([(U32.pack(1), U64.pack(5)), (U32.pack(2), U64.pack(7))])
    counter.update([(U32.pack(1), U64.pack(6)), (U32.pack(2), U64.pack(9))])  # the same keys: not decoded again
    assert decoded == [U32.pack(1), U32.pack(2)]
    counter.update([(U32.pack(2), U64.pack(10)), (U32.pack(3), U64.pack(1))])  # 1 deleted, 3 new
    assert decoded == [U32.pack(1), U32.pack(2), U32.pack(3)] and set(counter._labels) == {U32.pack(2), U32.pack(3)}
    counter.update([(U32.pack(1), U64.pack(4))])  # back after its deletion: decoded again, a new series
    assert decoded[-1] == U32.pack(1)
    assert [line for line in registry.exposition().decode().splitlines() if line.startswith("ebpf")] == [
        'ebpf_solo_io_counter_ids{id="1"} 4']


def test_keys_whose_text_may_change_are_decoded_at_every_poll() -> None:
    """An interface or cgroup that appears later turns a number into a name: such keys are never kept."""
    key, decoded = _counting(stable=False)
    gauge = HashGauge(_spec("gauge_ids", BPF_MAP_TYPE_HASH, "hash", "gauge"), key, IntValue(U64), MetricsRegistry())
    for _ in range(3):
        gauge.update([(U32.pack(1), U64.pack(5))])
    assert decoded == [U32.pack(1)] * 3
