"""Ring-buffer outputs: what each event of a `print_`, `counter_` or `hist_` ring buffer becomes.

They are called from the ring-buffer read (one thread) with the samples read at once
(`handle_batch`, see bee.libbpf.ringbuf.BatchHandler), or with ring records read in place
(`record_reader`). Every output takes whole batches through its batch path (bee.run.outputs.batch),
the most direct one its use allows:

- a `print_` ring buffer whose events go only to the event log: one generated loop per batch from the
  bytes to the lines, its `-f` filters tested in the same loop;
- a `counter_` or `hist_` ring buffer without a view: the batch grouped by label bytes
  (bee.decode.grouping), one decode per distinct label set, one increment or `observe_many` per group;
- otherwise (a view, or a filter the loop cannot take): the batch decoded in one generated loop
  (`Decoder.compile_batch`), each record handled, and the batch shown at once.

A batch the generated function raises on (before any effect) is decoded event by event instead (the
record path): the same output, more CPU; such fallen-back events are counted
(`bee_events_fallback_total`) and the first batch of each map is logged as a warning. `show` (the
interactive view) gets each batch of decoded events on the reader's thread, so it must only append
to bounded buffers and return.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from bee.decode.codegen import Guard, record_stride
from bee.decode.grouping import Grouping
from bee.elf.maps import MapSpec
from bee.log import get as get_logger
from bee.run.errors import RunSetupError
from bee.run.outputs.batch import BatchPath, lazily
from bee.run.outputs.decoders import Record, RecordDecoder, ShowEvents, labels_of
from bee.sinks.eventlog import EventLog
from bee.sinks.filters import FilterSet
from bee.sinks.metrics import MetricsRegistry, ProgramMetrics

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from typing import Any

log = get_logger("bee.run")


class RingOutput:
    """Base of ring-buffer outputs: counts events read and decodes them; subclasses `handle` a record,
    and may replace `path` (bee.run.outputs.batch) with one that needs no decoded event."""

    def __init__(self, spec: MapSpec, decoder: RecordDecoder, registry: MetricsRegistry | ProgramMetrics,
                 show: ShowEvents | None = None) -> None:
        self.name = spec.name
        self.decoder = decoder
        self.registry = registry
        self.show = show
        self.events = 0
        self.errors = 0
        self._fell_back = False
        self.path: BatchPath | None = self._decoded_path()
        registry.events_read.inc((self.name,), 0)
        registry.events_lost.inc((self.name,), 0)
        registry.ringbuf_full.inc((self.name,), 0)
        registry.on_collect(self._publish)

    def _publish(self) -> None:
        self.registry.events_read.follow((self.name,), self.events)
        self.registry.map_read_errors.follow((self.name,), self.errors)

    def _decoded_path(self) -> BatchPath | None:
        """The batch path of decoded events: a whole batch decoded in one generated loop, then each
        record handled and the batch shown (what a filter or a view needs); None without a batch decoder."""
        compile_batch = self.decoder.compile_batch
        if compile_batch is None:
            return None
        from_samples = lazily(lambda: compile_batch(False))

        def make_records() -> Callable[[memoryview], tuple[list[Record], int]] | None:
            decode_records = compile_batch(True)
            if decode_records is None:
                return None

            def from_records(region: memoryview) -> tuple[list[Record], int]:
                records = decode_records(region)
                return records, len(records)

            return from_records

        return BatchPath(self.decoder.size, from_samples, make_records, self.handle_records)

    def handle_records(self, records: list[Record]) -> None:
        """Handle decoded events, oldest first, then show them."""
        handle = self.handle
        for record in records:
            handle(record)
        if self.show is not None and records:
            self.show(records)

    def handle_batch(self, samples: list[bytes]) -> None:
        """Handle the samples of one read, oldest first: through the batch path when there is one."""
        path = self.path
        if path is None:
            self._record_path(samples)
            return
        try:
            result, short = path.from_samples(samples)
        except Exception as exc:  # a value the generated loop cannot take; nothing done yet
            self.fall_back(samples, exc)
            return
        self.events += len(samples)
        self.errors += short
        path.apply(result)

    def record_reader(self) -> tuple[int, Callable[[memoryview], int]] | None:
        """(sample size, reader) for reading this map's records in place (bee.libbpf.ringbuf), or None."""
        path = self.path
        from_records = path.make_records() if path is not None and path.size else None
        if path is None or from_records is None:
            return None
        apply = path.apply

        def read_records(region: memoryview) -> int:
            try:
                result, count = from_records(region)
            except Exception as exc:  # nothing done yet
                return self.fall_back_records(region, exc)
            self.events += count
            apply(result)
            return count

        return path.size, read_records

    def _record_path(self, samples: list[bytes]) -> None:
        """Each sample decoded on its own (the fallback, and a decoder without a batch decoder)."""
        records = []
        decode, size, handle = self.decoder.decode, self.decoder.size, self.handle
        for data in samples:
            self.events += 1
            if len(data) < size:
                self.errors += 1  # a sample shorter than its declared struct: nothing sensible to show
                continue
            record = decode(data)
            handle(record)
            records.append(record)
        if self.show is not None and records:
            self.show(records)

    def fall_back(self, samples: list[bytes], error: Exception) -> None:
        """Handle `samples` one by one after the batch path failed on them with `error` (which it
        must have done before any output); counted, and logged for the first batch of this map."""
        if not self._fell_back:
            self._fell_back = True
            log.warning("map %s: a batch of events was decoded one by one, the batch path could not take it "
                        "(%s: %s); the output is the same (bee_events_fallback_total counts such events)",
                        self.name, type(error).__name__, error)
        self.registry.events_fallback.inc((self.name,), len(samples))
        self._record_path(samples)

    def fall_back_records(self, region: memoryview, error: Exception) -> int:
        """`fall_back` for ring records read in place (bee.libbpf.ringmem.RecordReader): the leading
        records of exactly this map's sample size, one by one; returns how many."""
        size = self.decoder.size
        stride = record_stride(size)
        header = size.to_bytes(4, sys.byteorder)  # the kernel writes it in the host's order
        samples = []
        for offset in range(0, len(region) - stride + 1, stride):
            if bytes(region[offset:offset + 4]) != header:
                break
            samples.append(bytes(region[offset + 8:offset + 8 + size]))
        self.fall_back(samples, error)
        return len(samples)

    def __call__(self, data: bytes) -> None:
        """Handle one sample on the record path (a libbpf sample callback: bench/pipeline.py's per-event stage)."""
        self._record_path([data])

    def handle(self, record: Record) -> None:
        raise NotImplementedError


class RingPrint(RingOutput):
    """`print_` ring buffer: every event that passes the filters goes to the event log (if any)."""

    def __init__(self, spec: MapSpec, decoder: RecordDecoder, registry: MetricsRegistry | ProgramMetrics,
                 log: EventLog | None, filters: FilterSet, show: ShowEvents | None = None,
                 program: str | None = None) -> None:
        super().__init__(spec, decoder, registry, show)
        self.log = log
        self.channel = log.channel(spec.name, program) if log is not None else spec.name  # its event log name
        self.filters = filters if filters.for_map(spec.name) else None
        # When events go to the log and nowhere else: lines formatted in bulk from the line template,
        # the filters tested in the same loop, the generated functions made on first need (samples →
        # lines; ring records read in place → lines).
        guards = tuple((f.key, f.accepts) for f in filters.for_map(spec.name))
        if (log is not None and show is None and decoder.compile_rows is not None
                and all(key in decoder.fields for key, _ in guards)):
            self.path = self._lines_path(log, decoder, guards)

    def _lines_path(self, log: EventLog, decoder: RecordDecoder, guards: tuple[Guard, ...]) -> BatchPath:
        line = log.line_template(self.channel, list(zip(decoder.fields, decoder.kinds, strict=True)))
        clock, channel = line.clock, self.channel
        compile_rows, compile_records = decoder.compile_rows, decoder.compile_records
        assert compile_rows is not None
        rows = lazily(lambda: compile_rows(line.template, line.args, dict(line.scope), guards))

        def from_samples(samples: list[bytes]) -> tuple[list[str], int]:
            return rows(samples, *clock.parts(time.time()))

        def make_records() -> Callable[[memoryview], tuple[list[str], int]] | None:
            records = (compile_records(line.template, line.args, dict(line.scope), guards)
                       if compile_records else None)
            if records is None:
                return None

            def from_records(region: memoryview) -> tuple[list[str], int]:
                return records(region, *clock.parts(time.time()))

            return from_records

        def apply(lines: list[str]) -> None:
            log.emit_lines(channel, lines)

        return BatchPath(decoder.size, from_samples, make_records, apply)

    def handle(self, record: Record) -> None:
        if self.log is not None and (self.filters is None or self.filters.matches(self.name, record)):
            self.log.emit(self.channel, record)


#: Label sets remembered per grouped output (raw key → labels); past this the memory starts again.
MAX_REMEMBERED_LABELS = 4096


class _Grouped(RingOutput):
    """A ring output whose batches are grouped by label bytes when it has no view (module docstring);
    `label_names` are the fields its labels come from, `value_field` the one it observes (None: counts)."""

    def __init__(self, spec: MapSpec, decoder: RecordDecoder, registry: MetricsRegistry | ProgramMetrics,
                 show: ShowEvents | None, label_names: tuple[str, ...], value_field: str | None) -> None:
        super().__init__(spec, decoder, registry, show)
        self.label_names = label_names
        compile_grouping = decoder.compile_grouping
        self.grouping: Grouping | None = (compile_grouping(value_field) if show is None and compile_grouping
                                          else None)
        self._labels: dict[Any, tuple[str, ...]] = {}
        if self.grouping is not None:
            self.path = BatchPath(self.grouping.size, self._groups_of_samples, self._groups_reader,
                                  self.add_groups)

    def _groups_of_samples(self, samples: list[bytes]) -> tuple[dict[Any, Any], int]:
        return self.grouping.samples(samples)  # type: ignore[union-attr]

    def _groups_reader(self) -> Callable[[memoryview], tuple[dict[Any, Any], int]] | None:
        return self.grouping.records if self.grouping is not None else None

    def labels_of_key(self, key: Any) -> tuple[str, ...]:
        """The labels of the events grouped under `key`: one event rebuilt from it and decoded (remembered)."""
        labels = self._labels.get(key)
        if labels is None:
            if len(self._labels) >= MAX_REMEMBERED_LABELS:
                self._labels.clear()
            record = self.decoder.decode(self.grouping.sample_of(key))  # type: ignore[union-attr]
            labels = self._labels[key] = labels_of(record, self.label_names)
        return labels

    def add_groups(self, groups: dict[Any, Any]) -> None:
        raise NotImplementedError


class RingCounter(_Grouped):
    """`counter_` ring buffer: +1 per event, labels = every event field."""

    def __init__(self, spec: MapSpec, decoder: RecordDecoder, registry: MetricsRegistry | ProgramMetrics,
                 show: ShowEvents | None = None) -> None:
        super().__init__(spec, decoder, registry, show, decoder.fields, None)
        self.counter = registry.counter(spec.name, decoder.fields, map_type=spec.type_name, description=spec.help,
                                        unit=spec.unit)

    def handle(self, record: Record) -> None:
        self.counter.inc(labels_of(record, self.decoder.fields))

    def add_groups(self, groups: dict[Any, int]) -> None:
        inc, labels_of_key = self.counter.inc, self.labels_of_key
        for key, count in groups.items():
            inc(labels_of_key(key), count)


class RingHistogram(_Grouped):
    """`hist_` ring buffer: observe field `value_key` (default `le`), labels = the other fields."""

    def __init__(self, spec: MapSpec, decoder: RecordDecoder, registry: MetricsRegistry | ProgramMetrics,
                 value_key: str, buckets: tuple[float, ...] | None, show: ShowEvents | None = None) -> None:
        if value_key not in decoder.fields:
            raise RunSetupError(f"map {spec.name}: its event has no field {value_key!r} to observe; "
                                f"name one with -k {spec.name},FIELD (fields: {', '.join(decoder.fields)})")
        super().__init__(spec, decoder, registry, show, tuple(f for f in decoder.fields if f != value_key),
                         value_key)
        self.value_key = value_key
        kwargs = {"buckets": buckets} if buckets else {}
        self.histogram = registry.histogram(spec.name, self.label_names, map_type=spec.type_name,
                                            description=spec.help, unit=spec.unit, **kwargs)

    def handle(self, record: Record) -> None:
        value = record[self.value_key]
        if isinstance(value, int | float):
            self.histogram.observe(labels_of(record, self.label_names), value)
        else:
            self.errors += 1

    def add_groups(self, groups: dict[Any, list[float]]) -> None:
        observe_many, labels_of_key = self.histogram.observe_many, self.labels_of_key
        for key, values in groups.items():
            observe_many(labels_of_key(key), values)
