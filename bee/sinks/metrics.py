"""The metrics of one `bee run`: `MetricsRegistry` (every family, bee's own counters, the exposition) and
`ProgramMetrics` (the registry as one program of a run of several writes to it, under its `program` label).

The families themselves and the text format are `bee.sinks.families`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence

from bee.log import get as get_logger  # imports logging only for a message: ~6 ms (docs/dev/startup.md)
from bee.sinks.errors import SinkError
from bee.sinks.families import (
    CONTENT_TYPE,
    DEFAULT_BUCKETS,
    CounterFamily,
    Family,
    GaugeFamily,
    HistogramFamily,
    Labels,
    LabelSet,
    SlotHistogramFamily,
    label_value,
    map_help,
    metric_name,
)

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import TypeVar

    F = TypeVar("F", CounterFamily, GaugeFamily, HistogramFamily, SlotHistogramFamily)

__all__ = ["CONTENT_TYPE", "MetricsRegistry", "ProgramMetrics", "label_value"]

logger = get_logger("bee.sinks")


class MetricsRegistry:
    """The families of one `bee run`, plus bee's own counters, rendered by `exposition()`.

    Thread-safe: families may be registered, updated and rendered from any thread.
    Self-metrics (plain Prometheus counters, `_total` in their names) for the runner to update:
    `events_read` / `events_lost` / `ringbuf_full` / `map_read_errors` / `events_fallback` (label `map`)
    and `ringbuf_poll_errors`.
    A labelled family shows no series until first touched: `inc((map,), 0)` makes one appear at 0.
    With `program_label` (a run of several programs) the families with label `map` have a second
    label, `program`, and the programs write through `ProgramMetrics`.
    """

    def __init__(self, *, program_label: bool = False) -> None:
        self._lock = threading.Lock()
        self._families: dict[str, Family] = {}
        self._owners: dict[str, list[str]] = {}  # family name → the programs that registered it, first first
        self._hooks: list[tuple[Callable[[], None], str | None]] = []  # with the program that added each
        self._collecting = threading.Lock()  # hooks run, or a program is forgotten: never both at once
        self.program_label = program_label
        extra = ("program",) if program_label else ()
        self.events_read = self.register(
            CounterFamily("bee_events_read_total", "Events read from BPF ring buffers, per map.", ("map",), extra)
        )
        self.events_lost = self.register(
            CounterFamily(
                "bee_events_lost_total",
                "Events dropped in user space because the output could not keep up, per map.",
                ("map",),
                extra,
            )
        )
        self.ringbuf_poll_errors = self.register(
            CounterFamily("bee_ringbuf_poll_errors_total", "Ring buffer polls that failed.", ())
        )
        self.ringbuf_full = self.register(
            CounterFamily(
                "bee_ringbuf_full_total",
                "Reads that found a ring buffer with no room for one more event, per map: while it is so, "
                "its program's reservations fail and events are lost in the kernel, where no counter "
                "sees them (a larger ring helps).",
                ("map",),
                extra,
            )
        )
        self.map_read_errors = self.register(
            CounterFamily("bee_map_read_errors_total", "Failed reads of BPF hash maps, per map.", ("map",), extra)
        )
        self.events_fallback = self.register(
            CounterFamily(
                "bee_events_fallback_total",
                "Events of a batch the batch path could not take, decoded one by one instead (the same "
                "output, more CPU), per map; shown once it happens.",
                ("map",),
                extra,
            )
        )

    def register(self, family: F, *, owner: str | None = None) -> F:
        """Add `family` and return it; SinkError if a family of that name exists.

        With `owner` (a program of a run of several), a family of that name registered by another
        owner is shared instead when it has the same kind, label names and buckets: that family is
        returned. SinkError naming both owners when it differs."""
        with self._lock:
            existing = self._families.get(family.name)
            if existing is not None:
                owners = self._owners.get(family.name)
                if owner is None or not owners or owner in owners:
                    raise SinkError(f"metric {family.name} is registered twice; BPF map names must be unique")
                if not _same_shape(existing, family):
                    raise SinkError(f"programs {owners[0]} and {owner} both make metric {family.name} but with "
                                    "different kinds, labels or buckets; rename the map in one of them")
                owners.append(owner)
                return existing  # type: ignore[return-value]  # same class: _same_shape checked it
            self._families[family.name] = family
            if owner is not None:
                self._owners[family.name] = [owner]
        return family

    def forget_program(self, program: str) -> None:
        """Drop every series of `program` (label `program`), the families only it registered, and the
        collect hooks it added: what a program removed from a running run leaves behind. Waits for hooks
        running (a scrape's): none of them writes a series of `program` after this returns."""
        with self._collecting:
            with self._lock:
                for name, owners in list(self._owners.items()):
                    if program in owners:
                        owners.remove(program)
                        if not owners:
                            del self._owners[name], self._families[name]
                self._hooks = [(hook, owner) for hook, owner in self._hooks if owner != program]
                families = list(self._families.values())
            for family in families:
                if "program" in family.label_names:
                    family.forget_where("program", program)

    def counter(self, map_name: str, label_names: Sequence[str], *, map_type: str = "hash",
                description: str | None = None, unit: str | None = None) -> CounterFamily:
        """Register the counter family of BPF map `map_name` (HELP: `description` and `unit`, the program's)."""
        help = map_help(map_name, "counter", map_type, description, unit)
        return self.register(CounterFamily(metric_name(map_name), help, label_names))

    def gauge(self, map_name: str, label_names: Sequence[str], *, map_type: str = "hash",
              description: str | None = None, unit: str | None = None) -> GaugeFamily:
        """Register the gauge family of BPF map `map_name` (HELP: `description` and `unit`, the program's)."""
        help = map_help(map_name, "gauge", map_type, description, unit)
        return self.register(GaugeFamily(metric_name(map_name), help, label_names))

    def histogram(
        self,
        map_name: str,
        label_names: Sequence[str],
        *,
        map_type: str = "ringbuf",
        buckets: Iterable[float] = DEFAULT_BUCKETS,
        description: str | None = None,
        unit: str | None = None,
    ) -> HistogramFamily:
        """Register the histogram family of BPF map `map_name` (labels exclude the observed field)."""
        help = map_help(map_name, "histogram", map_type, description, unit)
        return self.register(HistogramFamily(metric_name(map_name), help, label_names, buckets))

    def slot_histogram(self, map_name: str, label_names: Sequence[str], buckets: Sequence[float], *, help: str,
                       has_sum: bool) -> SlotHistogramFamily:
        """Register the family of a histogram BPF map `map_name` counts in the kernel (`help`: its HELP text)."""
        return self.register(SlotHistogramFamily(metric_name(map_name), help, label_names, buckets, has_sum=has_sum))

    def get(self, name: str) -> Family | None:
        """The family registered as metric `name`, if any."""
        with self._lock:
            return self._families.get(name)

    def on_collect(self, hook: Callable[[], None], *, program: str | None = None) -> None:
        """Call `hook()` at the start of every `exposition()` (to copy counts kept elsewhere,
        such as the event log's drops); a hook that raises is logged and skipped. A hook added for
        a `program` goes with it (`forget_program`)."""
        with self._lock:
            self._hooks.append((hook, program))

    def exposition(self) -> bytes:
        """All families in the Prometheus text format 0.0.4, UTF-8 encoded."""
        with self._collecting:
            with self._lock:
                hooks = [hook for hook, _ in self._hooks]
            for hook in hooks:
                try:
                    hook()
                except Exception:
                    logger.exception("metrics collect hook failed")
        with self._lock:
            families = sorted(self._families.values(), key=lambda f: f.name)
        out: list[str] = []
        for family in families:
            family.render(out)
        return "".join(out).encode("utf-8", "replace")


def _same_shape(a: Family, b: Family) -> bool:
    """True when two families can hold each other's series: same class, label names and buckets."""
    if type(a) is not type(b) or a.label_names != b.label_names or a.help != b.help:
        return False
    return not isinstance(a, HistogramFamily) or (
        a.buckets == b.buckets and a.has_sum == b.has_sum)  # type: ignore[union-attr]


class BoundCounter:
    """A counter family as one program writes to it: its labels end with the program's `suffix`."""

    __slots__ = ("family", "suffix")

    def __init__(self, family: CounterFamily, suffix: Labels) -> None:
        self.family, self.suffix = family, suffix

    def inc(self, labels: Labels, amount: float = 1) -> None:
        self.family.inc(labels + self.suffix, amount)

    def follow(self, labels: Labels, value: float) -> None:
        self.family.follow(labels + self.suffix, value)

    def get(self, labels: Labels) -> float | None:
        return self.family.get(labels + self.suffix)

    def retain(self, live: LabelSet) -> None:
        self.family.retain({labels + self.suffix for labels in live}, self.suffix)


class BoundGauge:
    """A gauge family as one program writes to it (see `BoundCounter`)."""

    __slots__ = ("family", "suffix")

    def __init__(self, family: GaugeFamily, suffix: Labels) -> None:
        self.family, self.suffix = family, suffix

    def set(self, labels: Labels, value: float) -> None:
        self.family.set(labels + self.suffix, value)

    def get(self, labels: Labels) -> float | None:
        return self.family.get(labels + self.suffix)

    def retain(self, live: LabelSet) -> None:
        self.family.retain({labels + self.suffix for labels in live}, self.suffix)


class BoundHistogram:
    """A histogram family as one program writes to it (see `BoundCounter`)."""

    __slots__ = ("family", "suffix")

    def __init__(self, family: HistogramFamily, suffix: Labels) -> None:
        self.family, self.suffix = family, suffix

    def observe(self, labels: Labels, value: float) -> None:
        self.family.observe(labels + self.suffix, value)

    def observe_many(self, labels: Labels, values: Iterable[float]) -> None:
        self.family.observe_many(labels + self.suffix, values)

    def retain(self, live: LabelSet) -> None:
        self.family.retain({labels + self.suffix for labels in live}, self.suffix)


class BoundSlotHistogram(BoundHistogram):
    """A histogram counted in the kernel as one program writes to it (see `BoundCounter`)."""

    __slots__ = ()
    family: SlotHistogramFamily

    def follow(self, labels: Labels, counts: Sequence[int], total: float | None = None) -> None:
        self.family.follow(labels + self.suffix, counts, total)


class ProgramMetrics:
    """The registry as one program of a run writes to it.

    With `program` None (a run of one program) this hands out the registry's own families, so
    the exposition is exactly that of one program. With a name (the registry made with
    `program_label`), every family ends with label `program`: a program's map families are
    shared with other programs' maps of the same name and shape, and its series differ from
    theirs by that label."""

    def __init__(self, registry: MetricsRegistry, program: str | None = None) -> None:
        if (program is not None) != registry.program_label:
            raise ValueError("a program name goes with a registry made with program_label, and only then")
        self.registry, self.program = registry, program
        self.suffix: Labels = () if program is None else (program,)
        self.events_read = self._bound(registry.events_read)
        self.events_lost = self._bound(registry.events_lost)
        self.ringbuf_full = self._bound(registry.ringbuf_full)
        self.map_read_errors = self._bound(registry.map_read_errors)
        self.events_fallback = self._bound(registry.events_fallback)
        self.ringbuf_poll_errors = registry.ringbuf_poll_errors

    def _bound(self, family: CounterFamily) -> CounterFamily | BoundCounter:
        return family if self.program is None else BoundCounter(family, self.suffix)

    def counter(self, map_name: str, label_names: Sequence[str], *, map_type: str = "hash",
                description: str | None = None, unit: str | None = None) -> CounterFamily | BoundCounter:
        """The counter family of BPF map `map_name` (see `MetricsRegistry.counter`)."""
        if self.program is None:
            return self.registry.counter(map_name, label_names, map_type=map_type, description=description, unit=unit)
        family = CounterFamily(metric_name(map_name), map_help(map_name, "counter", map_type, description, unit),
                               label_names, ("program",))
        return BoundCounter(self.registry.register(family, owner=self.program), self.suffix)

    def gauge(self, map_name: str, label_names: Sequence[str], *, map_type: str = "hash",
              description: str | None = None, unit: str | None = None) -> GaugeFamily | BoundGauge:
        """The gauge family of BPF map `map_name` (see `MetricsRegistry.gauge`)."""
        if self.program is None:
            return self.registry.gauge(map_name, label_names, map_type=map_type, description=description, unit=unit)
        family = GaugeFamily(metric_name(map_name), map_help(map_name, "gauge", map_type, description, unit),
                             label_names, ("program",))
        return BoundGauge(self.registry.register(family, owner=self.program), self.suffix)

    def histogram(self, map_name: str, label_names: Sequence[str], *, map_type: str = "ringbuf",
                  buckets: Iterable[float] = DEFAULT_BUCKETS, description: str | None = None,
                  unit: str | None = None) -> HistogramFamily | BoundHistogram:
        """The histogram family of BPF map `map_name` (see `MetricsRegistry.histogram`)."""
        if self.program is None:
            return self.registry.histogram(map_name, label_names, map_type=map_type, buckets=buckets,
                                           description=description, unit=unit)
        family = HistogramFamily(metric_name(map_name), map_help(map_name, "histogram", map_type, description, unit),
                                 label_names, buckets, ("program",))
        return BoundHistogram(self.registry.register(family, owner=self.program), self.suffix)

    def slot_histogram(self, map_name: str, label_names: Sequence[str], buckets: Sequence[float], *, help: str,
                       has_sum: bool) -> SlotHistogramFamily | BoundSlotHistogram:
        """The family of a histogram counted in the kernel (see `MetricsRegistry.slot_histogram`)."""
        if self.program is None:
            return self.registry.slot_histogram(map_name, label_names, buckets, help=help, has_sum=has_sum)
        family = SlotHistogramFamily(metric_name(map_name), help, label_names, buckets, ("program",), has_sum=has_sum)
        return BoundSlotHistogram(self.registry.register(family, owner=self.program), self.suffix)

    def on_collect(self, hook: Callable[[], None]) -> None:
        """See `MetricsRegistry.on_collect`: the hook goes with this program."""
        self.registry.on_collect(hook, program=self.program)
