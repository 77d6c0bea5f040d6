"""Hash-map outputs: what the entries of a `print_`, `counter_` or `gauge_` hash map become.

The poller thread calls `update` with every (key bytes, value bytes) of the map at once. `show`
(the interactive view) gets the entries as records with a `value` field, on the poller's thread.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from bee.elf.maps import MapSpec
from bee.run.outputs.decoders import Record, RecordDecoder, ShowEntries, labels_of
from bee.sinks.eventlog import EventLog
from bee.sinks.filters import FilterSet
from bee.sinks.metrics import MetricsRegistry, ProgramMetrics


class HashOutput:
    """Base of hash-map outputs: `update(entries)` gets every (key bytes, value bytes) of the map."""

    def __init__(self, spec: MapSpec, key: RecordDecoder, value_format: struct.Struct,
                 show: ShowEntries | None = None) -> None:
        self.name = spec.name
        self.key = key
        self.value = value_format
        self.show = show
        self.error_labels: tuple[str, ...] = (spec.name,)  # of its read errors' series (+ the program's)

    def decoded(self, entries: list[tuple[bytes, bytes]]) -> list[tuple[Record, int]]:
        unpack, size = self.value.unpack_from, self.value.size
        return [(self.key.decode(k), unpack(v)[0]) for k, v in entries if len(v) >= size]

    def _show(self, rows: list[tuple[Record, int]]) -> None:
        if self.show is not None:
            self.show([{**record, "value": value} for record, value in rows])

    def update(self, entries: list[tuple[bytes, bytes]]) -> None:
        raise NotImplementedError

    def _track(self, entries: list[tuple[bytes, bytes]], apply: Callable[[tuple[str, ...], int], object],
               retain: Callable[[set[tuple[str, ...]]], object]) -> None:
        """Give each entry's value to the series of its key (`apply`), keep only the series of the keys
        still in the map (`retain`), and show the entries."""
        live = set()
        rows = self.decoded(entries)
        for record, value in rows:
            labels = labels_of(record, self.key.fields)
            apply(labels, value)
            live.add(labels)
        retain(live)
        self._show(rows)


class HashCounter(HashOutput):
    """`counter_` hash: the counter follows each key's value (adds the delta); deleted keys disappear."""

    def __init__(self, spec: MapSpec, key: RecordDecoder, value_format: struct.Struct,
                 registry: MetricsRegistry | ProgramMetrics, show: ShowEntries | None = None) -> None:
        super().__init__(spec, key, value_format, show)
        self.counter = registry.counter(spec.name, key.fields, map_type=spec.type_name)

    def update(self, entries: list[tuple[bytes, bytes]]) -> None:
        self._track(entries, self.counter.follow, self.counter.retain)


class HashGauge(HashOutput):
    """`gauge_` hash: the gauge is set to each key's value; deleted keys disappear."""

    def __init__(self, spec: MapSpec, key: RecordDecoder, value_format: struct.Struct,
                 registry: MetricsRegistry | ProgramMetrics, show: ShowEntries | None = None) -> None:
        super().__init__(spec, key, value_format, show)
        self.gauge = registry.gauge(spec.name, key.fields, map_type=spec.type_name)

    def update(self, entries: list[tuple[bytes, bytes]]) -> None:
        self._track(entries, self.gauge.set, self.gauge.retain)


class HashPrint(HashOutput):
    """`print_` hash: each entry whose value changed since the last poll goes to the event log (if any)."""

    def __init__(self, spec: MapSpec, key: RecordDecoder, value_format: struct.Struct, log: EventLog | None,
                 filters: FilterSet, show: ShowEntries | None = None, program: str | None = None) -> None:
        super().__init__(spec, key, value_format, show)
        self.log = log
        self.channel = log.channel(spec.name, program) if log is not None else spec.name  # its event log name
        self.filters = filters
        self.last: dict[bytes, int] = {}

    def update(self, entries: list[tuple[bytes, bytes]]) -> None:
        if self.show is not None:
            self._show(self.decoded(entries))
        if self.log is None:
            return
        current: dict[bytes, int] = {}
        for raw_key, raw_value in entries:
            if len(raw_value) < self.value.size:
                continue
            value = self.value.unpack_from(raw_value)[0]
            current[raw_key] = value
            if self.last.get(raw_key) != value:
                record = {**self.key.decode(raw_key), "value": value}
                if self.filters.matches(self.name, record):
                    self.log.emit(self.channel, record)
        self.last = current
