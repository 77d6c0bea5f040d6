"""Outputs of polled maps (the hash and array kinds): what the entries of a `print_`, `counter_`, `gauge_`,
`log2hist_` or `linhist_` map become.

The poller thread calls `update` with every entry of the map at once: (key bytes, value bytes), or for a
per-CPU map (key bytes, [value bytes of each CPU]), whose values are summed (`bee.run.outputs.values`).
An array's entries all exist from the start, at zero: those never seen non-zero are left out, so an
array of 256 counters shows the ones that counted something (an array of one entry is always shown).
`show` (the interactive view) gets the entries as records with a `value` field, on the poller's thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bee.elf.maps import MapSpec
from bee.run.outputs.decoders import Record, RecordDecoder, ShowEntries, labels_of
from bee.run.outputs.values import Counts, IntValue, SlotsValue
from bee.sinks.eventlog import EventLog
from bee.sinks.families import SlotHistogramFamily
from bee.sinks.filters import FilterSet
from bee.sinks.metrics import BoundSlotHistogram, MetricsRegistry, ProgramMetrics

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from typing import Any

#: One entry as the poller reads it: the key, and the value (a per-CPU map: one per CPU).
Entry = tuple[bytes, "bytes | Sequence[bytes]"]


class HashOutput:
    """Base of polled-map outputs: `update(entries)` gets every entry of the map (see the module docstring)."""

    def __init__(self, spec: MapSpec, key: RecordDecoder, value: IntValue | SlotsValue,
                 show: ShowEntries | None = None) -> None:
        self.name = spec.name
        self.key = key
        self.value: Any = value
        self.per_cpu = spec.per_cpu  # entries carry one value per CPU, summed here
        self.sparse = spec.is_array and spec.max_entries > 1  # leave out entries never seen non-zero
        self._seen: set[bytes] = set()
        self.show = show
        self.error_labels: tuple[str, ...] = (spec.name,)  # of its read errors' series (+ the program's)
        self._labels: dict[bytes, tuple[str, ...]] = {}  # key bytes → its series' labels (`_track`)

    def values(self, entries: Sequence[Entry]) -> list[tuple[bytes, Any]]:
        """(key bytes, value) of every entry to show: per-CPU values summed, values too short and (arrays)
        entries never seen non-zero left out."""
        read = self.value.per_cpu if self.per_cpu else self.value.one
        if not self.sparse:
            return [(key, value) for key, raw in entries if (value := read(raw)) is not None]
        rows = []
        for key, raw in entries:
            value = read(raw)
            if value is None:
                continue
            if self.sparse and key not in self._seen:
                if self.value.is_zero(value):
                    continue
                self._seen.add(key)
            rows.append((key, value))
        return rows

    def decoded(self, entries: Sequence[Entry]) -> list[tuple[Record, Any]]:
        return [(self.key.decode(k), v) for k, v in self.values(entries)]

    def _show(self, rows: list[tuple[Record, Any]]) -> None:
        if self.show is not None:
            shown = self.value.shown
            self.show([{**record, "value": shown(value)} for record, value in rows])

    def update(self, entries: Sequence[Entry]) -> None:
        raise NotImplementedError

    def _track(self, entries: Sequence[Entry], apply: Callable[[tuple[str, ...], Any], object],
               retain: Callable[[set[tuple[str, ...]]], object]) -> None:
        """Give each entry's value to the series of its key (`apply`), keep only the series of the keys
        still in the map (`retain`), and show the entries."""
        live = set()
        if self.show is not None or not self.key.stable:
            rows = self.decoded(entries)
            for record, value in rows:
                labels = labels_of(record, self.key.fields)
                apply(labels, value)
                live.add(labels)
            retain(live)
            self._show(rows)
            return
        # The hot path of a big map, polled every second: a key seen before keeps its labels (decoding it and
        # turning its fields into label text was two thirds of a poll of 100,000 keys). Only for keys whose
        # decoding cannot change (`RecordDecoder.stable`); keys gone from the map are forgotten.
        known, fields, decode = self._labels, self.key.fields, self.key.decode
        values = self.values(entries)
        for key, value in values:
            seen = known.get(key)
            labels = seen if seen is not None else known.setdefault(key, labels_of(decode(key), fields))
            apply(labels, value)
            live.add(labels)
        retain(live)
        if len(known) > len(values):
            self._labels = {key: known[key] for key, _ in values}


class HashCounter(HashOutput):
    """`counter_` map: the counter follows each key's value (adds the delta); deleted keys disappear."""

    def __init__(self, spec: MapSpec, key: RecordDecoder, value: IntValue,
                 registry: MetricsRegistry | ProgramMetrics, show: ShowEntries | None = None) -> None:
        super().__init__(spec, key, value, show)
        self.counter = registry.counter(spec.name, key.fields, map_type=spec.type_name, description=spec.help,
                                        unit=spec.unit)

    def update(self, entries: Sequence[Entry]) -> None:
        self._track(entries, self.counter.follow, self.counter.retain)


class HashGauge(HashOutput):
    """`gauge_` map: the gauge is set to each key's value (a per-CPU map: their sum); deleted keys disappear."""

    def __init__(self, spec: MapSpec, key: RecordDecoder, value: IntValue,
                 registry: MetricsRegistry | ProgramMetrics, show: ShowEntries | None = None) -> None:
        super().__init__(spec, key, value, show)
        self.gauge = registry.gauge(spec.name, key.fields, map_type=spec.type_name, description=spec.help,
                                    unit=spec.unit)

    def update(self, entries: Sequence[Entry]) -> None:
        self._track(entries, self.gauge.set, self.gauge.retain)


class HashPrint(HashOutput):
    """`print_` map: each entry whose value changed since the last poll goes to the event log (if any)."""

    def __init__(self, spec: MapSpec, key: RecordDecoder, value: IntValue, log: EventLog | None,
                 filters: FilterSet, show: ShowEntries | None = None, program: str | None = None) -> None:
        super().__init__(spec, key, value, show)
        self.log = log
        self.channel = log.channel(spec.name, program) if log is not None else spec.name  # its event log name
        self.filters = filters
        self.last: dict[bytes, int] = {}

    def update(self, entries: Sequence[Entry]) -> None:
        rows = self.values(entries)
        if self.show is not None:
            self._show([(self.key.decode(k), v) for k, v in rows])
        if self.log is None:
            return
        current: dict[bytes, int] = {}
        for raw_key, value in rows:
            current[raw_key] = value
            if self.last.get(raw_key) != value:
                record = {**self.key.decode(raw_key), "value": value}
                if self.filters.matches(self.name, record):
                    self.log.emit(self.channel, record)
        self.last = current


class HashHistogram(HashOutput):
    """`log2hist_`/`linhist_` map: each key's counts become one histogram series (`SlotHistogramFamily`:
    buckets follow the counts, adding what they gained); deleted keys disappear."""

    def __init__(self, spec: MapSpec, key: RecordDecoder, value: SlotsValue,
                 histogram: SlotHistogramFamily | BoundSlotHistogram, show: ShowEntries | None = None) -> None:
        super().__init__(spec, key, value, show)
        self.histogram = histogram

    def _follow(self, labels: tuple[str, ...], counts: Counts) -> None:
        self.histogram.follow(labels, counts.slots, counts.total)

    def update(self, entries: Sequence[Entry]) -> None:
        self._track(entries, self._follow, self.histogram.retain)
