"""What the view shows, filled by the reader threads and read by the view's timer.

Writers (the ring-buffer poll, the hash-map poller) only append to bounded deques or swap a
list, so they never wait for the view; the view copies what it needs when it redraws
(`snapshot()`), at its own pace. Memory is bounded by `history` rows per ring-buffer table.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bee.tui.filter import TableFilter

if TYPE_CHECKING:
    from bee.libbpf.stats import RunStats

Record = dict[str, Any]
HISTORY = 1000
RATE_WINDOW = 2.0  # seconds of samples behind the events/s figure


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One table as the view draws it: `rows` are (row id, time or None, record), newest or largest first."""

    rows: list[tuple[int, float | None, Record]]
    total: int  # events read (ring) or entries in the map (hash)
    version: int


class Table:
    """One tracked map's table. `kind` is `ring` or `hash` (every polled map: hash and array kinds); `output`
    is print, counter, gauge, hist, log2hist or linhist (a histogram's `value` is how many values it counted)."""

    kind = ""

    def __init__(self, name: str, output: str, flt: TableFilter | None = None) -> None:
        self.name = name
        self.output = output
        self.columns: tuple[str, ...] = ()
        self.filter = flt
        self._lock = threading.Lock()
        self._rates: deque[tuple[float, int]] = deque()

    def set_filter(self, flt: TableFilter | None) -> None:
        raise NotImplementedError

    def snapshot(self) -> Snapshot:
        raise NotImplementedError

    def rate(self, now: float | None = None) -> float:
        """Events per second over the last `RATE_WINDOW` seconds (call from one thread, the view's)."""
        now = time.monotonic() if now is None else now
        samples = self._rates
        samples.append((now, self.count()))
        while len(samples) > 2 and samples[1][0] <= now - RATE_WINDOW:
            samples.popleft()
        (t0, n0), (t1, n1) = samples[0], samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0

    def count(self) -> int:
        raise NotImplementedError

    @property
    def version(self) -> int:
        """Changes whenever the rows do (the filter aside)."""
        raise NotImplementedError


class RingTable(Table):
    """A ring buffer's newest `history` events, and the newest `history` that pass the filter."""

    kind = "ring"

    def __init__(self, name: str, output: str, flt: TableFilter | None = None, history: int = HISTORY) -> None:
        super().__init__(name, output, flt)
        self.history = history
        self.total = 0
        self._rows: deque[tuple[int, float | None, Record]] = deque(maxlen=history)
        self._matched: deque[tuple[int, float | None, Record]] = deque(maxlen=history)

    def show_events(self, columns: Sequence[str]) -> Callable[[list[Record]], None]:
        """Set the columns; returns the function the ring-buffer reader calls with each batch of events."""
        self.columns = tuple(columns)
        return self.add_many

    def add(self, record: Record) -> None:
        """Keep one event (reader thread)."""
        self.add_many([record])

    def add_many(self, records: list[Record]) -> None:
        """Keep a batch of events, oldest first, all with the time of the call (reader thread). Bounded
        memory; only the newest `history` events and matches are looked at, so a large batch holds
        the lock no longer than a small one (unless a filter matches rarely)."""
        now = time.time()
        with self._lock:
            first = self.total + 1
            self.total += len(records)
            skipped = max(0, len(records) - self.history)
            self._rows.extend((first + i, now, record) for i, record in enumerate(records[skipped:], skipped))
            flt = self.filter
            if flt is not None:
                matched: list[tuple[int, float | None, Record]] = []
                for i in range(len(records) - 1, -1, -1):  # newest first, until `history` of them
                    if flt.matches(records[i]):
                        matched.append((first + i, now, records[i]))
                        if len(matched) == self.history:
                            break
                matched.reverse()
                self._matched.extend(matched)

    def count(self) -> int:
        return self.total

    @property
    def version(self) -> int:
        return self.total

    def set_filter(self, flt: TableFilter | None) -> None:
        """Filter from now on, and again over the events kept so far."""
        with self._lock:
            self.filter = flt
            self._matched = deque((item for item in self._rows if flt is not None and flt.matches(item[2])),
                                  maxlen=self.history)

    def snapshot(self) -> Snapshot:
        with self._lock:
            rows = (self._rows if self.filter is None else self._matched).copy()
            total = self.total
        rows.reverse()
        return Snapshot(list(rows), total, total)


class HashTable(Table):
    """A hash map's entries as last read, largest value first (the `HISTORY` largest are shown)."""

    kind = "hash"

    def __init__(self, name: str, output: str, flt: TableFilter | None = None) -> None:
        super().__init__(name, output, flt)
        self._entries: list[Record] = []
        self._version = 0

    def show_entries(self, columns: Sequence[str]) -> Callable[[list[Record]], None]:
        """Set the columns (key fields, then `value`); returns what the poller calls with every entry."""
        self.columns = tuple(columns)
        return self.replace

    def replace(self, entries: list[Record]) -> None:
        """The map's entries now (poller thread); each has a `value` field."""
        with self._lock:
            if entries != self._entries:
                self._entries = entries
                self._version += 1

    def count(self) -> int:
        return len(self._entries)

    @property
    def version(self) -> int:
        return self._version

    def set_filter(self, flt: TableFilter | None) -> None:
        with self._lock:
            self.filter = flt
            self._version += 1

    def snapshot(self) -> Snapshot:
        with self._lock:
            entries, flt, version = self._entries, self.filter, self._version
        kept = [e for e in entries if flt is None or flt.matches(e)]
        kept.sort(key=_value_key, reverse=True)
        return Snapshot([(i, None, e) for i, e in enumerate(kept[:HISTORY])], len(entries), version)


_OUTPUT_ORDER = {"print": 0, "counter": 1, "hist": 2, "log2hist": 2, "linhist": 2, "gauge": 3}


def _display_order(spec: Any) -> tuple[int, int]:
    """Ring buffers before hash maps, print before counter, hist and gauge; else as in the object."""
    return (spec.type_name != "ringbuf", _OUTPUT_ORDER.get(spec.output, 9))


def _value_key(record: Record) -> tuple[int, int]:
    value = record.get("value", 0)
    return (1, value) if isinstance(value, int) else (0, 0)


class ProgramTables:
    """One program's part of the view: its name, where it came from, its tables (display order), and why it
    did not start (`failure`, one line; None while it has not failed). `failure` is written by the kernel
    thread and read by the view's (an attribute write)."""

    __slots__ = ("name", "location", "tables", "failure")

    def __init__(self, name: str, location: str, tables: Sequence[Table] = (), failure: str | None = None) -> None:
        self.name = name
        self.location = location
        self.tables = list(tables)
        self.failure = failure


def tables_for_spec(spec: Any, filters: Any) -> list[Table]:
    """One table per tracked map of `spec` (an ObjectSpec), in display order, each starting with the `-f`
    filters `filters` (a FilterSet) name for its map."""
    tables: list[Table] = []
    for m in sorted(spec.tracked_maps, key=_display_order):
        flt = TableFilter.from_flags(filters.for_map(m.name))
        tables.append(RingTable(m.name, m.output, flt) if m.type_name == "ringbuf"
                      else HashTable(m.name, m.output, flt))
    return tables


class TuiModel:
    """The state of one run as the view shows it. Attribute writes are atomic; lists are replaced, not mutated.

    A run of one program gives `tables`; a run of several gives `groups`, one per program in the order given
    (`location` then says what the run is). `tables` is then every group's tables, one after the other: the
    order Tab follows."""

    def __init__(self, location: str, metrics_url: str, tables: Sequence[Table] = (),
                 groups: Sequence[ProgramTables] = (), bpf_stats: bool = False) -> None:
        """`bpf_stats`: the run counts what its BPF programs cost the kernel (`--bpf-stats`), and the view
        shows it (`run_stats`)."""
        if tables and groups:
            raise ValueError("give the tables of one program or the groups of several, not both")
        self.location = location
        self.metrics_url = metrics_url
        self.groups = list(groups) or [ProgramTables("", location, tables)]
        self.tables = [table for group in self.groups for table in group.tables]
        self._group_of = [group for group in self.groups for _ in group.tables]
        self._by_key = {(group.name, table.name): table for group in self.groups for table in group.tables}
        self.programs: list[tuple[str, str, str]] = []  # (function, section, hook)
        self.state = "loading"  # loading → running | failed
        self.error: BaseException | None = None
        self.notices: deque[str] = deque(maxlen=200)
        # With --bpf-stats: what the kernel counted, by program then function, replaced whole by the thread
        # that reads it (about once a second); None without --bpf-stats (the view shows no such line).
        self.run_stats: Mapping[str, Mapping[str, RunStats]] | None = {} if bpf_stats else None

    @property
    def several(self) -> bool:
        """True when the view shows several programs (headings, `program › map` titles)."""
        return len(self.groups) > 1

    def table(self, name: str, program: str | None = None) -> Any:
        """The table of map `name` of `program` (ignored when the view shows one program). KeyError if none."""
        group = self.groups[0].name if not self.several else program
        return self._by_key[(group or "", name)]

    def group_of(self, index: int) -> ProgramTables:
        """The program table `index` (in `tables`) belongs to."""
        return self._group_of[index]

    def title(self, index: int) -> str:
        """What table `index` is called on screen: its map, or `program › map` when several programs run."""
        table = self.tables[index]
        return f"{self._group_of[index].name} › {table.name}" if self.several else table.name

    def visible(self) -> list[int]:
        """The indices (in `tables`) of the tables of the programs that have not failed, in order."""
        return [i for i, group in enumerate(self._group_of) if group.failure is None]

    def program_failed(self, name: str, reason: str) -> None:
        """Program `name` did not start because of `reason` (any thread); the others go on."""
        for group in self.groups:
            if group.name == name:
                group.failure = reason

    def attached(self, programs: Sequence[tuple[str, str, str]]) -> None:
        """Everything is attached and read (kernel thread)."""
        self.programs = list(programs)
        self.state = "running"

    def fail(self, error: BaseException) -> None:
        """Loading, attaching or reading failed (kernel thread); the view shows `error`."""
        self.error = error
        self.state = "failed"

    def notice(self, text: str) -> None:
        """A log message to show (any thread)."""
        self.notices.append(text)


def run_costs(stats: Mapping[str, Mapping[str, RunStats]], several: bool, width: int | None = None) -> str:
    """What each BPF program costs the kernel, in one line for the view: `on_exec 1,892 ns/run (59 runs)`,
    each function in turn, two spaces apart; with `several` programs each is named `program › function`.
    When that is longer than `width` (cells), the runs are left out (`on_exec 1,892 ns/run`), as the
    mean is what tells the cost; the caller cuts what is still too long. A function that has not run yet
    says `no runs yet`; no function at all gives `no program counted yet`."""
    full, short = [], []
    for program, functions in stats.items():
        for function, counted in functions.items():
            name = f"{program} › {function}" if several else function
            mean = counted.ns_per_run
            if mean is None:
                full.append(f"{name} no runs yet")
                short.append(full[-1])
            else:
                short.append(f"{name} {mean:,.0f} ns/run")
                full.append(f"{short[-1]} ({counted.runs:,} run{'s' if counted.runs != 1 else ''})")
    line = "  ".join(full)
    if width is not None and len(line) > width:
        line = "  ".join(short)
    return line or "no program counted yet"
