"""The event log: one line per decoded event, as logfmt-like text or JSON lines.

`EventLog.emit()` runs on the ring-buffer callback thread and never blocks: it appends to a
bounded in-memory queue, or drops the event and counts it (`lost`, `lost_by_map()`) when the
queue is full or the output is gone. A writer thread formats whole batches and writes each with
one `write` + `flush`, so a slow terminal costs drops, not ring-buffer overruns.
`emit_lines()` queues lines already formatted by a `line_template()` of this log, the fast path
of ring buffers (decoded and formatted in one generated step, no record per event).

The stream stays the caller's: `close()` drains, flushes and stops the writer but never closes
it. A broken pipe ends the writer quietly (`broken` turns True, later events count as lost);
another write error is kept in `error`; either way `on_stop()` is called once, from the writer thread.
A pipe or socket whose reader went away is noticed while idle too (within `_IDLE_WAIT`), not only at
the next write. `emit` takes ownership of `record`: do not mutate it.
"""

from __future__ import annotations

import contextlib
import io
import os
import select
import stat
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence

from bee.errors import UsageError
from bee.log import get as get_logger  # imports logging only for a message: ~6 ms (docs/dev/startup.md)
from bee.sinks.lines import LineTemplate, RecordItem, json_formatter, text_formatter

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import IO, Any, Literal

    Format = Literal["text", "json"]

FORMATS: tuple[str, ...] = ("text", "json")
DEFAULT_QUEUE_SIZE = 32768
_BATCH = 4096
_IDLE_WAIT = 0.1  # seconds; a safety net, the writer is normally woken by emit
_LINGER = 0.002  # seconds to gather more events after a partial batch: ≤ 500 writes/s, no visible delay

logger = get_logger("bee.sinks")

class _Lines:
    """Queued lines of one map, already formatted (`EventLog.emit_lines`)."""

    __slots__ = ("text", "count")

    def __init__(self, text: str, count: int) -> None:
        self.text = text
        self.count = count


_Item = tuple[str, "Mapping[str, Any] | _Lines", float]  # queued: (map, record or lines, time)


def _hangup_poller(stream: object) -> select.poll | None:
    """A poller that reports POLLERR/POLLHUP once the reader of `stream` is gone, when it is a pipe or a
    socket (a file or a terminal has no reader to lose); None otherwise."""
    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
        mode = os.fstat(fd).st_mode
    except (AttributeError, OSError, ValueError):
        return None
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return None
    poller = select.poll()
    poller.register(fd, 0)  # no events asked: only POLLERR, POLLHUP and POLLNVAL are reported
    return poller


class EventLog:
    """Writes events to `stream` (text or binary; binary gets UTF-8) from its own thread.

    Thread-safe: `emit` may be called from several threads; lines keep the order of the calls.
    Raises UsageError for an unknown `fmt`.
    """

    def __init__(self, stream: IO[str] | IO[bytes], *, fmt: Format = "text", queue_size: int = DEFAULT_QUEUE_SIZE,
                 on_stop: Callable[[], None] | None = None):
        if fmt not in FORMATS:
            raise UsageError(f"unknown event log format {fmt!r}; choose text or json")
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.fmt = fmt
        self._stream = stream
        self._binary = not isinstance(stream, io.TextIOBase)
        self._heads: dict[str, tuple[str, str]] = {}  # channel → (map, program) of channels with a program
        self._formatter = json_formatter(self._heads) if fmt == "json" else text_formatter(self._heads)
        self._format = self._formatter.format_batch
        self._queue: deque[_Item] = deque()
        self._max = queue_size
        self._extra = 0  # events queued beyond one per queue item (the lines of `emit_lines` chunks)
        self._extra_lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = False
        self._closing = False
        self._stopped = False  # the writer gave up (broken pipe, write error)
        self._lost: dict[str, int] = {}
        self._lost_lock = threading.Lock()
        self._close_lock = threading.Lock()
        self._written = 0
        self.broken = False
        self.error: Exception | None = None
        self._on_stop = on_stop
        self._hangup = _hangup_poller(stream)
        self._thread = threading.Thread(target=self._run, name="bee-eventlog", daemon=True)
        self._thread.start()

    # -- producer side -------------------------------------------------------------------------

    def channel(self, map_name: str, program: str | None = None) -> str:
        """The name to emit the events of `map_name` under: the map name itself, or for a program
        of a run of several one whose lines say `program` after the map name (text `program=NAME`,
        JSON `"program": NAME`). Call before emitting on it."""
        if program is None:
            return map_name
        channel = f"{map_name}@{program}"  # never a map name: those are C identifiers
        self._heads[channel] = (map_name, program)
        return channel

    def forget(self, program: str) -> None:
        """Forget the drops counted for `program`'s channels (a program removed from a running run; lines
        still queued for it are written all the same)."""
        with self._lost_lock:
            for channel in [c for c in self._lost if self._heads.get(c, ("", None))[1] == program]:
                del self._lost[channel]

    def source_of(self, channel: str) -> tuple[str, str | None]:
        """(map name, program or None) of a `channel` (as `lost_by_map()` keys them)."""
        map_name, program = self._heads.get(channel, (channel, ""))
        return map_name, program or None

    def line_template(self, map_name: str, fields: Sequence[tuple[str, str]]) -> LineTemplate:
        """The template of this log's lines for events of `map_name` whose fields are `(name, kind)`
        in order (kinds as decoders give them: `int`, `bool`, `str`, `float`, `any`); the lines it
        makes go to `emit_lines`."""
        return self._formatter.line_template(map_name, fields)

    def emit_lines(self, map_name: str, lines: list[str]) -> int:
        """Queue finished lines of `map_name` (each ending in a newline, made with `line_template`);
        returns how many were kept, the rest being counted as lost (queue full, output gone)."""
        count = len(lines)
        if not count:
            return 0
        if self._closing or self._stopped:
            self._count_lost(map_name, count)
            return 0
        with self._extra_lock:
            room = self._max - len(self._queue) - self._extra
            if room < count:
                if room <= 0:
                    kept = 0
                else:
                    kept = room
                    lines = lines[:room]
                self._count_lost(map_name, count - kept)
                count = kept
            if count:
                self._queue.append((map_name, _Lines("".join(lines), count), 0.0))
                self._extra += count - 1
        if count and self._idle:
            self._wake.set()
        return count

    def emit(self, map_name: str, record: Mapping[str, Any], ts: float | None = None) -> bool:
        """Queue one event (time `ts`, default now); False if it was dropped and counted as lost."""
        queue = self._queue
        if len(queue) + self._extra >= self._max or self._closing or self._stopped:
            self._count_lost(map_name, 1)
            return False
        queue.append((map_name, record, time.time() if ts is None else ts))
        if self._idle:
            self._wake.set()
        return True

    def _count_lost(self, map_name: str, n: int) -> None:
        with self._lost_lock:
            self._lost[map_name] = self._lost.get(map_name, 0) + n

    @property
    def lost(self) -> int:
        """Events dropped so far (queue full, output gone, or emitted after close)."""
        with self._lost_lock:
            return sum(self._lost.values())

    def lost_by_map(self) -> dict[str, int]:
        """Events dropped so far, per channel (the map name but for a program of several: `source_of`)."""
        with self._lost_lock:
            return dict(self._lost)

    @property
    def written(self) -> int:
        """Events written (and flushed) so far."""
        return self._written

    @property
    def pending(self) -> int:
        """Events queued and not yet written."""
        return len(self._queue) + self._extra

    # -- writer side ---------------------------------------------------------------------------

    def _run(self) -> None:
        queue = self._queue
        while True:
            if not queue:
                if self._closing:
                    return
                self._idle = True
                if not queue and not self._closing:  # re-check after announcing idleness
                    self._wake.wait(_IDLE_WAIT)
                self._wake.clear()
                self._idle = False
                if self._hangup is not None and not queue and self._hangup.poll(0):  # the reader went away
                    self._give_up(BrokenPipeError(32, "Broken pipe"), [])
                    return
                continue
            popleft = queue.popleft
            batch = [popleft() for _ in range(min(len(queue), _BATCH))]
            text, count = self._text_of(batch)
            try:
                self._write(text)
            except Exception as exc:  # the output is gone: stop writing, count the rest as lost
                self._give_up(exc, batch)
                return
            self._written += count
            if len(batch) < _BATCH and not self._closing:
                time.sleep(_LINGER)

    def _give_up(self, exc: Exception, batch: list[_Item]) -> None:
        """Stop writing for good after `exc`: count `batch` and the queue as lost, tell `on_stop`."""
        if isinstance(exc, BrokenPipeError):
            self.broken = True
        else:
            self.error = exc
        self._stopped = True
        self._drop_all(batch)
        if self._on_stop is not None and not self._closing:
            try:
                self._on_stop()
            except Exception:
                logger.debug("the event log's on_stop failed", exc_info=True)

    def _text_of(self, batch: list[_Item]) -> tuple[str, int]:
        """The lines of `batch` (records formatted, chunks as they are) and how many events they hold."""
        records: list[RecordItem] = []
        parts: list[str] = []
        count = 0
        for item in batch:
            chunk = item[1]
            if type(chunk) is not _Lines:
                records.append(item)  # type: ignore[arg-type]  # a record: not _Lines
                continue
            if records:
                count += self._format_records(records, parts)
                records = []
            parts.append(chunk.text)
            count += chunk.count
            with self._extra_lock:
                self._extra -= chunk.count - 1
        if records:
            count += self._format_records(records, parts)
        return "".join(parts), count

    def _format_records(self, records: list[RecordItem], parts: list[str]) -> int:
        try:
            parts.append(self._format(records))
            return len(records)
        except Exception:  # a record that cannot be formatted: keep the others
            text, count = self._format_each(records)
            parts.append(text)
            return count

    def _format_each(self, batch: list[RecordItem]) -> tuple[str, int]:
        """Format item by item, counting the ones that fail as lost; returns (text, items kept)."""
        parts = []
        for item in batch:
            try:
                parts.append(self._format([item]))
            except Exception:
                logger.debug("cannot format an event of map %s", item[0], exc_info=True)
                self._count_lost(item[0], 1)
        return "".join(parts), len(parts)

    def _write(self, text: str) -> None:
        stream: Any = self._stream
        if self._binary:
            data = memoryview(text.encode("utf-8", "backslashreplace"))
            while data:
                n = stream.write(data)
                if n is None or n >= len(data):  # buffered streams write everything
                    break
                data = data[n:]
        else:
            try:
                stream.write(text)
            except UnicodeEncodeError:
                encoding = getattr(stream, "encoding", None) or "utf-8"
                stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
        stream.flush()

    def _drop_all(self, batch: list[_Item]) -> None:
        """Count `batch` and whatever is still queued as lost."""
        counts: dict[str, int] = {}

        def count(item: _Item, queued: bool) -> None:
            chunk = item[1]
            n = 1
            if type(chunk) is _Lines:
                n = chunk.count
                if queued:  # still in `_extra` (a taken batch was subtracted by `_text_of`)
                    with self._extra_lock:
                        self._extra -= n - 1
            counts[item[0]] = counts.get(item[0], 0) + n

        for item in batch:
            count(item, False)
        while True:
            try:
                item = self._queue.popleft()
            except IndexError:
                break
            count(item, True)
        for map_name, n in counts.items():
            self._count_lost(map_name, n)

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self, timeout: float | None = None) -> bool:
        """Write what is queued, flush, stop the writer; later `emit`s count as lost.

        Idempotent. Returns False if the writer is still blocked after `timeout` seconds
        (e.g. a full pipe nobody reads); the queued events are then left to it."""
        with self._close_lock:
            self._closing = True
            self._wake.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            return False
        self._drop_all([])  # events that slipped in while the writer was exiting
        if not self._stopped:
            with contextlib.suppress(OSError, ValueError):
                self._stream.flush()
        return True

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
