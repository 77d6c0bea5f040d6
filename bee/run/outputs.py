"""One output per tracked map: what to do with each ring-buffer event or hash-map entry.

Ring-buffer outputs are called from the ring-buffer poll (one thread) with the samples read at
once (`handle_batch`, see bee.libbpf.ringbuf.BatchHandler); hash outputs are called by the poller
thread with all entries of their map at once. Decoders are compiled once per map here, never per
event. A `print_` ring buffer whose events only go to the event log (no filter, no view) is
decoded and formatted in one generated loop per batch, straight from the samples to the lines.

Every output may also `show` what it reads (the interactive view): a ring output passes each
decoded event, a hash output the list of its entries as records with a `value` field. `show`
runs on the reader's thread, so it must only append to bounded buffers and return.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable

from bee.elf.btf import Btf
from bee.elf.maps import MapSpec
from bee.errors import BeeError
from bee.records import Record as RecordBase
from bee.sinks.eventlog import EventLog
from bee.sinks.filters import FilterSet
from bee.sinks.metrics import MetricsRegistry, label_value

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (bee run's start-up)
if TYPE_CHECKING:
    from typing import Any

Record = dict[str, "Any"]
ShowEvent = Callable[[Record], None]
ShowEntries = Callable[[list[Record]], None]


class RunSetupError(BeeError):
    """A tracked map cannot be turned into output as declared (wrong key, value or field)."""


class RecordDecoder(RecordBase):
    """Decodes one key or event into a record; a scalar type gives `{fallback_name: value}`."""

    fields: tuple[str, ...]
    size: int
    decode: Callable[[bytes], Record]
    kinds: tuple[str, ...] = ()  # per field: the type its value always has, or `any`
    compile_rows: Callable[[str, tuple[str, ...], dict], Any] | None = None  # see Decoder.compile_rows
    compile_records: Callable[[str, tuple[str, ...], dict], Any] | None = None  # see Decoder.compile_records


def record_decoder(btf: Btf, type_id: int, fallback_name: str, endian: str) -> RecordDecoder:
    """Compile the decoder of BTF type `type_id` (a struct gives one field per leaf member)."""
    from bee.decode import compile_decoder

    decoder = compile_decoder(btf, type_id, endian=endian)
    if decoder.scalar:
        scalar = decoder.decode_scalar
        same = decoder.fields == (fallback_name,)
        return RecordDecoder((fallback_name,), decoder.size, lambda data: {fallback_name: scalar(data)},
                             decoder.kinds, decoder.compile_rows if same else None,
                             decoder.compile_records if same else None)
    return RecordDecoder(tuple(decoder.fields), decoder.size, decoder.decode, decoder.kinds, decoder.compile_rows,
                         decoder.compile_records)


def labels_of(record: Record, names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(label_value(record[name]) for name in names)


class RingOutput:
    """Base of ring-buffer outputs: counts events read and decodes them; subclasses `handle` a record."""

    def __init__(self, spec: MapSpec, decoder: RecordDecoder, registry: MetricsRegistry,
                 show: ShowEvent | None = None) -> None:
        self.name = spec.name
        self.decoder = decoder
        self.registry = registry
        self.show = show
        self.events = 0
        self.errors = 0
        registry.events_read.inc((self.name,), 0)
        registry.events_lost.inc((self.name,), 0)
        registry.ringbuf_full.inc((self.name,), 0)
        registry.on_collect(self._publish)

    def _publish(self) -> None:
        self.registry.events_read.follow((self.name,), self.events)
        self.registry.map_read_errors.follow((self.name,), self.errors)

    def handle_batch(self, samples: list[bytes]) -> None:
        """Handle the samples of one read, oldest first."""
        for data in samples:
            self(data)

    def __call__(self, data: bytes) -> None:
        self.events += 1
        if len(data) < self.decoder.size:
            self.errors += 1  # a sample shorter than its declared struct: nothing sensible to show
            return
        record = self.decoder.decode(data)
        self.handle(record)
        if self.show is not None:
            self.show(record)

    def handle(self, record: Record) -> None:
        raise NotImplementedError


class RingPrint(RingOutput):
    """`print_` ring buffer: every event that passes the filters goes to the event log (if any)."""

    def __init__(self, spec: MapSpec, decoder: RecordDecoder, registry: MetricsRegistry, log: EventLog | None,
                 filters: FilterSet, show: ShowEvent | None = None) -> None:
        super().__init__(spec, decoder, registry, show)
        self.log = log
        self.filters = filters if filters.for_map(spec.name) else None
        # When every event goes straight to the log: its line template, from which the generated
        # functions are made on first need (samples → lines; ring records read in place → lines).
        self._line: Any = None
        self._rows: Any = None
        self._records: Any = None
        if log is not None and self.filters is None and show is None and decoder.compile_rows is not None:
            self._line = log.line_template(spec.name, list(zip(decoder.fields, decoder.kinds, strict=True)))

    def record_reader(self) -> tuple[int, Callable[[memoryview], int]] | None:
        """(sample size, reader) for reading this map's records in place (bee.libbpf.ringbuf), or None."""
        line, compile_records = self._line, self.decoder.compile_records
        if line is None or compile_records is None:
            return None
        self._records = compile_records(line.template, line.args, dict(line.scope))
        if self._records is None:
            return None
        return self.decoder.size, self._read_records

    def _read_records(self, region: memoryview) -> int:
        prefix, micros = self._line.clock.parts(time.time())
        lines = self._records(region, prefix, micros)
        self.events += len(lines)
        self.log.emit_lines(self.name, lines)  # type: ignore[union-attr]
        return len(lines)

    def handle_batch(self, samples: list[bytes]) -> None:
        line = self._line
        if line is None:
            super().handle_batch(samples)
            return
        rows = self._rows
        if rows is None:
            rows = self._rows = self.decoder.compile_rows(line.template, line.args, dict(line.scope))  # type: ignore[misc]
        prefix, micros = line.clock.parts(time.time())
        try:
            lines, short = rows(samples, prefix, micros)
        except Exception:  # a value the generated loop cannot take: the record path handles (or raises)
            super().handle_batch(samples)
            return
        self.events += len(samples)
        self.errors += short
        self.log.emit_lines(self.name, lines)  # type: ignore[union-attr]

    def handle(self, record: Record) -> None:
        if self.log is not None and (self.filters is None or self.filters.matches(self.name, record)):
            self.log.emit(self.name, record)


class RingCounter(RingOutput):
    """`counter_` ring buffer: +1 per event, labels = every event field."""

    def __init__(self, spec: MapSpec, decoder: RecordDecoder, registry: MetricsRegistry,
                 show: ShowEvent | None = None) -> None:
        super().__init__(spec, decoder, registry, show)
        self.counter = registry.counter(spec.name, decoder.fields, map_type=spec.type_name)

    def handle(self, record: Record) -> None:
        self.counter.inc(labels_of(record, self.decoder.fields))


class RingHistogram(RingOutput):
    """`hist_` ring buffer: observe field `value_key` (default `le`), labels = the other fields."""

    def __init__(self, spec: MapSpec, decoder: RecordDecoder, registry: MetricsRegistry, value_key: str,
                 buckets: tuple[float, ...] | None, show: ShowEvent | None = None) -> None:
        super().__init__(spec, decoder, registry, show)
        if value_key not in decoder.fields:
            raise RunSetupError(f"map {spec.name}: its event has no field {value_key!r} to observe; "
                                f"name one with -k {spec.name},FIELD (fields: {', '.join(decoder.fields)})")
        self.value_key = value_key
        self.label_names = tuple(f for f in decoder.fields if f != value_key)
        kwargs = {"buckets": buckets} if buckets else {}
        self.histogram = registry.histogram(spec.name, self.label_names, map_type=spec.type_name, **kwargs)

    def handle(self, record: Record) -> None:
        value = record[self.value_key]
        if isinstance(value, int | float):
            self.histogram.observe(labels_of(record, self.label_names), value)
        else:
            self.errors += 1


class HashOutput:
    """Base of hash-map outputs: `update(entries)` gets every (key bytes, value bytes) of the map."""

    def __init__(self, spec: MapSpec, key: RecordDecoder, value_format: struct.Struct,
                 show: ShowEntries | None = None) -> None:
        self.name = spec.name
        self.key = key
        self.value = value_format
        self.show = show

    def decoded(self, entries: list[tuple[bytes, bytes]]) -> list[tuple[Record, int]]:
        unpack, size = self.value.unpack_from, self.value.size
        return [(self.key.decode(k), unpack(v)[0]) for k, v in entries if len(v) >= size]

    def _show(self, rows: list[tuple[Record, int]]) -> None:
        if self.show is not None:
            self.show([{**record, "value": value} for record, value in rows])

    def update(self, entries: list[tuple[bytes, bytes]]) -> None:
        raise NotImplementedError


class HashCounter(HashOutput):
    """`counter_` hash: the counter follows each key's value (adds the delta); deleted keys disappear."""

    def __init__(self, spec: MapSpec, key: RecordDecoder, value_format: struct.Struct,
                 registry: MetricsRegistry, show: ShowEntries | None = None) -> None:
        super().__init__(spec, key, value_format, show)
        self.counter = registry.counter(spec.name, key.fields, map_type=spec.type_name)

    def update(self, entries: list[tuple[bytes, bytes]]) -> None:
        live = set()
        rows = self.decoded(entries)
        for record, value in rows:
            labels = labels_of(record, self.key.fields)
            self.counter.follow(labels, value)
            live.add(labels)
        self.counter.retain(live)
        self._show(rows)


class HashGauge(HashOutput):
    """`gauge_` hash: the gauge is set to each key's value; deleted keys disappear."""

    def __init__(self, spec: MapSpec, key: RecordDecoder, value_format: struct.Struct,
                 registry: MetricsRegistry, show: ShowEntries | None = None) -> None:
        super().__init__(spec, key, value_format, show)
        self.gauge = registry.gauge(spec.name, key.fields, map_type=spec.type_name)

    def update(self, entries: list[tuple[bytes, bytes]]) -> None:
        live = set()
        rows = self.decoded(entries)
        for record, value in rows:
            labels = labels_of(record, self.key.fields)
            self.gauge.set(labels, value)
            live.add(labels)
        self.gauge.retain(live)
        self._show(rows)


class HashPrint(HashOutput):
    """`print_` hash: each entry whose value changed since the last poll goes to the event log (if any)."""

    def __init__(self, spec: MapSpec, key: RecordDecoder, value_format: struct.Struct, log: EventLog | None,
                 filters: FilterSet, show: ShowEntries | None = None) -> None:
        super().__init__(spec, key, value_format, show)
        self.log = log
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
                    self.log.emit(self.name, record)
        self.last = current


_VALUE_FORMATS = {1: "B", 2: "H", 4: "I", 8: "Q"}


def hash_value_format(spec: MapSpec, btf: Btf, endian: str) -> struct.Struct:
    """The unpacker of a hash map's integer value; RunSetupError when the value is not an integer."""
    from bee.elf.btf_types import Int, IntEncoding

    resolved = btf.resolve(spec.value_type_id) if spec.value_type_id else None
    if not isinstance(resolved, Int) or spec.value_size not in _VALUE_FORMATS:
        raise RunSetupError(f"map {spec.name}: a {spec.output} hash map needs an integer value (u64), "
                            f"not {btf.type_name(spec.value_type_id) if spec.value_type_id else 'an untyped value'}")
    code = _VALUE_FORMATS[spec.value_size]
    if resolved.encoding & IntEncoding.SIGNED:
        code = code.lower()
    return struct.Struct(("<" if endian == "little" else ">") + code)
