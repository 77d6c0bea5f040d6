"""Metric families and their Prometheus text exposition (format 0.0.4): counters, gauges, histograms.

Names follow Bumblebee exactly: `ebpf_solo_io_<map name>` (the map name keeps its prefix),
counters *without* a `_total` suffix, label names = struct field names, one HELP line naming
the map. The text is written here, not by prometheus_client, whose exposition renames every
counter to `*_total`. Output is ordered like Go's client: families by name, series by label
values, labels by name (a histogram's `le` last), values formatted like Go's `strconv` `'g'`.

Thread-safety: every family has its own lock; any thread may update while another renders.
Label values are strings made by `label_value`; a family checks only the number of labels.
"""

from __future__ import annotations

import json
import math
import re
import threading
from bisect import bisect_left
from collections.abc import Iterable, Sequence

from bee.errors import UsageError

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import ClassVar, TypeAlias

#: A decoded field value, already in presentation form.
Value: TypeAlias = "int | bool | str | float | list[Value]"
Labels = tuple[str, ...]
LabelSet = set[Labels]  # for annotations inside classes with a `set` method

NAMESPACE = "ebpf_solo_io"
#: Bumblebee's default histogram buckets.
DEFAULT_BUCKETS: tuple[float, ...] = (0, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


_INVALID_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")
_INVALID_METRIC_CHARS = re.compile(r"[^a-zA-Z0-9_:]")


def label_value(value: object) -> str:
    """One field value as a label value: ints in decimal, bools `true`/`false`, str as is,
    floats by `repr`, lists and structs (in arrays of structs) JSON-like without spaces
    (`[1,2,3]`, `["a","b"]`, `[{"x":1,"y":2}]`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_list_item(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{_list_item(v)}"
                              for k, v in value.items()) + "}"
    return str(value)


def _list_item(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return label_value(value)


def metric_name(map_name: str) -> str:
    """`ebpf_solo_io_<map name>`, with characters a metric name cannot hold replaced by `_`."""
    return sanitize_metric_name(f"{NAMESPACE}_{map_name}")


def map_help(map_name: str, kind: str, map_type: str, description: str | None = None,
             unit: str | None = None) -> str:
    """The HELP text of a map's family: `counter from BPF map counter_events_hash (hash)`, after what the program
    says of the map and its unit when it does (`Failed opens (unit: opens); counter from BPF map ...`)."""
    origin = f"{kind} from BPF map {map_name} ({map_type})"
    said = " ".join(part for part in (description, f"(unit: {unit})" if unit else None) if part)
    return f"{said}; {origin}" if said else origin


def slot_histogram_help(map_name: str, map_type: str, kind: str, has_sum: bool) -> str:
    """The HELP text of a histogram counted in the kernel: what counts, in which unit, whether `_sum` is there."""
    sums = "" if has_sum else "; no _sum: the map keeps none"
    return (f"histogram from BPF map {map_name} ({map_type}), {kind} slots counted in the kernel; "
            f"bounds in the unit the program counts in{sums}")


def sanitize_metric_name(name: str) -> str:
    """`name` with invalid characters replaced by `_` (and a leading `_` before a digit)."""
    name = _INVALID_METRIC_CHARS.sub("_", name) or "_"
    return "_" + name if name[0].isdigit() else name


def sanitize_label_names(names: Iterable[str], reserved: Iterable[str] = ()) -> tuple[str, ...]:
    """Label names with invalid characters replaced by `_`, each distinct and never starting with `__`
    (Prometheus reserves those: its client libraries refuse them and its server drops them).

    A name starting with `__` keeps one leading `_` (`__pad` → `_pad`); a name that is reserved or
    already taken gets a leading `_` (`le` → `_le`), or, when it already starts with `_`, a suffix
    `_2`, `_3`, ... (`_le` → `_le_2`, `_` → `_2`), so every field keeps a label of its own.
    """
    taken = set(reserved)
    out: list[str] = []
    for raw in names:
        name = _INVALID_LABEL_CHARS.sub("_", raw) or "_"
        if name[0].isdigit():
            name = "_" + name
        if name.startswith("__"):
            name = "_" + name.lstrip("_")
        if name in taken and not name.startswith("_"):
            name = "_" + name
        base, number = name if name.endswith("_") else name + "_", 1
        while name in taken:
            number += 1
            name = f"{base}{number}"
        taken.add(name)
        out.append(name)
    return tuple(out)


def format_value(value: float) -> str:
    """A sample value as Go's client prints it (`strconv.FormatFloat(v, 'g', -1, 64)`):
    `3`, `1.5`, `123456`, `1.234567e+06`, `1e-05`, `+Inf`, `NaN`."""
    v = float(value)
    if v == 0:
        return "0"
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    text = repr(v)  # the shortest digits that round-trip, as Go's shortest formatting uses
    sign = ""
    if text[0] == "-":
        sign, text = "-", text[1:]
    mantissa, _, exp = text.partition("e")
    int_part, _, frac = mantissa.partition(".")
    all_digits = int_part + frac
    stripped = all_digits.lstrip("0")
    # value = 0.<digits> * 10**point
    point = len(int_part) + (int(exp) if exp else 0) - (len(all_digits) - len(stripped))
    digits = stripped.rstrip("0")
    exponent = point - 1
    if exponent < -4 or exponent >= 6:
        tail = "." + digits[1:] if len(digits) > 1 else ""
        return f"{sign}{digits[0]}{tail}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def escape_label_value(value: str) -> str:
    """Backslash, double quote and newline escaped as the text format requires."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


class _Family:
    """Common state: name, help, label names, one lock, and label rendering."""

    kind: ClassVar[str] = "untyped"
    reserved_labels: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str, help: str, label_names: Sequence[str], extra: Sequence[str] = ()) -> None:
        self.name = sanitize_metric_name(name)
        self.help = help
        # `extra` labels come last and keep their names: a field of the same name gets a leading `_`
        self.label_names = sanitize_label_names(label_names, (*self.reserved_labels, *extra)) + tuple(extra)
        self._lock = threading.Lock()
        order = sorted(range(len(self.label_names)), key=self.label_names.__getitem__)
        self._order = tuple(order)
        self._label_prefixes = tuple(f'{self.label_names[i]}="' for i in order)

    def _check(self, labels: Labels) -> None:
        if len(labels) != len(self.label_names):
            raise ValueError(f"{self.name} takes {len(self.label_names)} label values, got {len(labels)}")

    def _sort_key(self, labels: Labels) -> tuple[str, ...]:
        return tuple(label_value(labels[i]) for i in self._order)

    def _label_text(self, labels: Labels) -> str:
        """`a="x",b="y"` in label-name order, without braces."""
        parts = []
        for prefix, i in zip(self._label_prefixes, self._order, strict=True):
            value = labels[i]
            if not isinstance(value, str):
                value = label_value(value)
            parts.append(prefix + escape_label_value(value) + '"')
        return ",".join(parts)

    def _header(self, out: list[str]) -> None:
        out.append(f"# HELP {self.name} {_escape_help(self.help)}\n# TYPE {self.name} {self.kind}\n")

    def render(self, out: list[str]) -> None:
        """Append this family's exposition lines to `out` (nothing for a labelled family without series)."""
        raise NotImplementedError


class _ScalarFamily(_Family):
    """A family with one value per label set (counter, gauge)."""

    def __init__(self, name: str, help: str, label_names: Sequence[str], extra: Sequence[str] = ()) -> None:
        super().__init__(name, help, label_names, extra)
        self._values: dict[Labels, float] = {}

    def get(self, labels: Labels) -> float | None:
        """The current value for `labels`, or None if that series does not exist."""
        with self._lock:
            return self._values.get(labels)

    def remove(self, labels: Labels) -> None:
        """Forget one series (no error if absent)."""
        with self._lock:
            self._forget(labels)

    def retain(self, live: set[Labels], suffix: Labels = ()) -> None:
        """Forget every series whose labels end with `suffix` and are not in `live` (keys deleted from a
        hash map; `suffix`: one program's series only)."""
        n = len(suffix)
        with self._lock:
            for labels in [k for k in self._values if k not in live and k[len(k) - n:] == suffix]:
                self._forget(labels)

    def forget_where(self, label: str, value: str) -> None:
        """Forget every series whose label `label` has `value` (ValueError for a label it does not have)."""
        index = self.label_names.index(label)
        with self._lock:
            for labels in [k for k in self._values if k[index] == value]:
                self._forget(labels)

    def _forget(self, labels: Labels) -> None:
        self._values.pop(labels, None)

    def render(self, out: list[str]) -> None:
        with self._lock:
            items = list(self._values.items())
        if not self.label_names:
            self._header(out)
            value = items[0][1] if items else 0.0
            out.append(f"{self.name} {format_value(value)}\n")
            return
        if not items:
            return
        self._header(out)
        items.sort(key=lambda item: self._sort_key(item[0]))
        name = self.name
        for labels, value in items:
            out.append(f"{name}{{{self._label_text(labels)}}} {format_value(value)}\n")


class CounterFamily(_ScalarFamily):
    """A counter whose samples carry the family name as given (no `_total` added)."""

    kind = "counter"

    def __init__(self, name: str, help: str, label_names: Sequence[str], extra: Sequence[str] = ()) -> None:
        super().__init__(name, help, label_names, extra)
        self._last: dict[Labels, float] = {}

    def inc(self, labels: Labels, amount: float = 1) -> None:
        """Add `amount` (>= 0; ValueError otherwise) to the series, creating it at 0 first."""
        if amount < 0:
            raise ValueError(f"{self.name}: a counter cannot decrease (amount {amount})")
        self._check(labels)
        with self._lock:
            self._values[labels] = self._values.get(labels, 0.0) + amount

    def follow(self, labels: Labels, value: float) -> None:
        """Track a count kept elsewhere and read periodically (a hash-map value, a kernel counter): add its
        increase since the last call for these labels. The first value seen is added whole; a lower value
        means the count was reset, so the new value is the increase. Never decreases."""
        self._check(labels)
        with self._lock:
            last = self._last.get(labels)
            delta = value if last is None or value < last else value - last
            self._last[labels] = value
            if delta > 0 or labels not in self._values:
                self._values[labels] = self._values.get(labels, 0.0) + max(delta, 0)

    def _forget(self, labels: Labels) -> None:
        self._values.pop(labels, None)
        self._last.pop(labels, None)


class GaugeFamily(_ScalarFamily):
    """A gauge: each series holds the last value set."""

    kind = "gauge"

    def set(self, labels: Labels, value: float) -> None:
        """Set the series to `value`, creating it if needed."""
        self._check(labels)
        with self._lock:
            self._values[labels] = float(value)


class HistogramFamily(_Family):
    """A cumulative histogram with fixed upper bounds; `le` is reserved (a field named `le`
    among the labels is exposed as `_le`)."""

    kind = "histogram"
    reserved_labels = ("le",)
    has_sum = True  # whether `_sum` lines are written

    def __init__(
        self, name: str, help: str, label_names: Sequence[str], buckets: Iterable[float] = DEFAULT_BUCKETS,
        extra: Sequence[str] = (),
    ) -> None:
        super().__init__(name, help, label_names, extra)
        self.buckets = normalize_buckets(buckets, self.name)
        self._le = tuple(f'le="{format_value(b)}"' for b in (*self.buckets, math.inf))
        # labels -> [per-bucket counts (last one is +Inf only), sum]
        self._series: dict[Labels, tuple[list[int], list[float]]] = {}

    def observe(self, labels: Labels, value: float) -> None:
        """Count `value` in the first bucket whose bound is >= value (else only in +Inf)."""
        self._check(labels)
        index = bisect_left(self.buckets, value) if value == value else len(self.buckets)  # NaN: +Inf only
        with self._lock:
            series = self._series.get(labels)
            if series is None:
                series = self._series[labels] = ([0] * (len(self.buckets) + 1), [0.0])
            series[0][index] += 1
            series[1][0] += value

    def observe_many(self, labels: Labels, values: Iterable[float]) -> None:
        """`observe` each of `values` in order, under one lock (the same counts and sum, to the last bit)."""
        self._check(labels)
        buckets = self.buckets
        nan_index = len(buckets)
        with self._lock:
            series = self._series.get(labels)
            if series is None:
                series = self._series[labels] = ([0] * (len(buckets) + 1), [0.0])
            counts, total = series
            running = total[0]
            for value in values:
                counts[bisect_left(buckets, value) if value == value else nan_index] += 1
                running += value
            total[0] = running

    def remove(self, labels: Labels) -> None:
        """Forget one series (no error if absent)."""
        with self._lock:
            self._series.pop(labels, None)

    def retain(self, live: set[Labels], suffix: Labels = ()) -> None:
        """Forget every series whose labels end with `suffix` and are not in `live`."""
        n = len(suffix)
        with self._lock:
            for labels in [k for k in self._series if k not in live and k[len(k) - n:] == suffix]:
                del self._series[labels]

    def forget_where(self, label: str, value: str) -> None:
        """Forget every series whose label `label` has `value` (ValueError for a label it does not have)."""
        index = self.label_names.index(label)
        with self._lock:
            for labels in [k for k in self._series if k[index] == value]:
                del self._series[labels]

    def render(self, out: list[str]) -> None:
        with self._lock:
            items = [(labels, list(counts), total[0]) for labels, (counts, total) in self._series.items()]
        if not items and not self.label_names:
            items = [((), [0] * (len(self.buckets) + 1), 0.0)]
        if not items:
            return
        self._header(out)
        items.sort(key=lambda item: self._sort_key(item[0]))
        name = self.name
        for labels, counts, total in items:
            text = self._label_text(labels)
            sep = "," if text else ""
            running = 0
            for le, count in zip(self._le, counts, strict=True):
                running += count
                out.append(f"{name}_bucket{{{text}{sep}{le}}} {format_value(running)}\n")
            braced = f"{{{text}}}" if text else ""
            if self.has_sum:
                out.append(f"{name}_sum{braced} {format_value(total)}\n")
            out.append(f"{name}_count{braced} {format_value(running)}\n")


class SlotHistogramFamily(HistogramFamily):
    """A histogram whose buckets a BPF program counts in the kernel, one count per slot, read by polling.

    `follow(labels, counts, total)` takes every slot's count as the map holds it now (the last slot is
    counted in +Inf only, so there is one count more than there are `buckets`) and the sum of the values
    counted (None: the map keeps none; the family was made without `_sum` then). Like a counter that
    follows a hash map, the series adds what each slot gained since the last call; a slot's count lower
    than last time means the entry was reset (deleted and made again, or cleared), and the new values are
    what it gained. So the buckets never decrease (the sum may, when negative values are counted)."""

    def __init__(
        self, name: str, help: str, label_names: Sequence[str], buckets: Iterable[float], extra: Sequence[str] = (),
        *, has_sum: bool = True,
    ) -> None:
        bounds = tuple(buckets)
        super().__init__(name, help, label_names, bounds, extra)
        if len(self.buckets) != len(bounds):
            raise UsageError(f"the bucket bounds of {self.name} must be distinct and finite")
        self.has_sum = has_sum
        self._last: dict[Labels, tuple[tuple[int, ...], float]] = {}

    def follow(self, labels: Labels, counts: Sequence[int], total: float | None = None) -> None:
        """Add what each slot (and the sum) gained since the last call for `labels` (ValueError for a wrong
        number of counts)."""
        self._check(labels)
        if len(counts) != len(self.buckets) + 1:
            raise ValueError(f"{self.name} takes {len(self.buckets) + 1} counts, got {len(counts)}")
        now = (tuple(counts), float(total or 0))
        with self._lock:
            last = self._last.get(labels)
            reset = last is None or any(c < p for c, p in zip(now[0], last[0], strict=True))
            gained = now if reset or last is None else (
                tuple(c - p for c, p in zip(now[0], last[0], strict=True)), now[1] - last[1])
            self._last[labels] = now
            series = self._series.get(labels)
            if series is None:
                series = self._series[labels] = ([0] * (len(self.buckets) + 1), [0.0])
            for i, count in enumerate(gained[0]):
                series[0][i] += count
            series[1][0] += gained[1]

    def remove(self, labels: Labels) -> None:
        with self._lock:
            self._series.pop(labels, None)
            self._last.pop(labels, None)

    def retain(self, live: set[Labels], suffix: Labels = ()) -> None:
        n = len(suffix)
        with self._lock:
            for labels in [k for k in self._series if k not in live and k[len(k) - n:] == suffix]:
                del self._series[labels]
                self._last.pop(labels, None)

    def forget_where(self, label: str, value: str) -> None:
        index = self.label_names.index(label)
        with self._lock:
            for labels in [k for k in self._series if k[index] == value]:
                del self._series[labels]
                self._last.pop(labels, None)


def normalize_buckets(buckets: Iterable[float], name: str) -> tuple[float, ...]:
    """Sorted, deduplicated finite upper bounds (+Inf is implicit and dropped if given).

    Raises UsageError (one sentence naming the metric) for NaN, -Inf or non-numbers."""
    out: set[float] = set()
    for bound in buckets:
        try:
            value = float(bound)
        except (TypeError, ValueError):
            raise UsageError(f"histogram bucket {bound!r} of {name} is not a number") from None
        if math.isnan(value) or value == -math.inf:
            raise UsageError(f"histogram bucket {bound!r} of {name} is not a usable upper bound")
        if value != math.inf:
            out.add(value)
    return tuple(sorted(out))


Family = CounterFamily | GaugeFamily | HistogramFamily
