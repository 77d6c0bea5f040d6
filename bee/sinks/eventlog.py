"""The event log: one line per decoded event, as logfmt-like text or JSON lines.

`EventLog.emit()` runs on the ring-buffer callback thread and never blocks: it appends to a
bounded in-memory queue, or drops the event and counts it (`lost`, `lost_by_map()`) when the
queue is full or the output is gone. A writer thread formats whole batches and writes each with
one `write` + `flush`, so a slow terminal costs drops, not ring-buffer overruns.

The stream stays the caller's: `close()` drains, flushes and stops the writer but never closes
it. A broken pipe ends the writer quietly (`broken` turns True, later events count as lost);
another write error is kept in `error`. `emit` takes ownership of `record`: do not mutate it.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from json.encoder import encode_basestring
from typing import IO, Any, Literal

from bee.errors import UsageError
from bee.sinks.metrics import label_value

Format = Literal["text", "json"]
FORMATS: tuple[str, ...] = ("text", "json")
DEFAULT_QUEUE_SIZE = 32768
_BATCH = 4096
_IDLE_WAIT = 0.1  # seconds; a safety net, the writer is normally woken by emit
_LINGER = 0.002  # seconds to gather more events after a partial batch: ≤ 500 writes/s, no visible delay

logger = logging.getLogger("bee.sinks")

_Item = tuple[str, Mapping[str, Any], float]
# logfmt quotes a value with whitespace, '=', '"' or control characters (and an empty one).
_needs_quotes = re.compile(r'[\s="\x00-\x1f\x7f]').search


class _Clock:
    """RFC 3339 UTC times with microseconds, `2026-11-25T18:00:00.123456Z`; one writer thread only."""

    def __init__(self) -> None:
        self._second: int | None = None
        self._prefix = ""

    def __call__(self, ts: float) -> str:
        micros = int(ts * 1_000_000 + 0.5)
        second = micros // 1_000_000
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))
            self._second = second
        return self._prefix + str(micros - second * 1_000_000 + 1_000_000)[1:] + "Z"


def format_time(ts: float) -> str:
    """`ts` (seconds since the epoch) as the event log writes it."""
    return _Clock()(ts)


def _json_default(value: object) -> object:
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, tuple):
        return list(value)
    return str(value)


def _finite(value: Any) -> Any:
    """`value` with NaN and infinities as strings (JSON has no literal for them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _json_formatter() -> Callable[[list[_Item]], str]:
    """Lines `{"time": ..., "map": ..., "event": {...}}`; str/int/bool fields are encoded
    inline (the common case), anything else by the C encoder."""
    encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, check_circular=False, default=_json_default)
    encode = encoder.encode
    quote = encode_basestring
    clock = _Clock()

    def value_json(value: Any) -> str:
        try:
            return encode(value)
        except ValueError:  # NaN or infinity
            return encode(_finite(value))

    def format_batch(batch: list[_Item]) -> str:
        lines = []
        for map_name, record, ts in batch:
            fields = []
            for key, value in record.items():
                kind = type(value)
                if kind is str:
                    text = quote(value)
                elif kind is int:
                    text = str(value)
                elif kind is bool:
                    text = "true" if value else "false"
                else:
                    text = value_json(value)
                fields.append(f"{quote(key)}: {text}")
            lines.append(f'{{"time": "{clock(ts)}", "map": {quote(map_name)}, "event": {{{", ".join(fields)}}}}}\n')
        return "".join(lines)

    return format_batch


def text_value(value: object) -> str:
    """A field value as logfmt text: quoted (JSON string escapes) when it holds whitespace,
    `=`, `"` or control characters, or is empty."""
    text = value if type(value) is str else label_value(value)
    if not text or _needs_quotes(text):
        return encode_basestring(text)
    return text


def _text_formatter() -> Callable[[list[_Item]], str]:
    """Lines `<time> <map> key=value ...`."""
    clock = _Clock()
    needs_quotes = _needs_quotes
    quote = encode_basestring

    def format_batch(batch: list[_Item]) -> str:
        lines = []
        for map_name, record, ts in batch:
            parts = [clock(ts), map_name]
            for key, value in record.items():
                kind = type(value)
                if kind is str:
                    if not value or needs_quotes(value):
                        value = quote(value)
                elif kind is int:
                    value = str(value)
                else:
                    value = text_value(value)
                parts.append(f"{key}={value}")
            lines.append(" ".join(parts))
        lines.append("")
        return "\n".join(lines)

    return format_batch


class EventLog:
    """Writes events to `stream` (text or binary; binary gets UTF-8) from its own thread.

    Thread-safe: `emit` may be called from several threads; lines keep the order of the calls.
    Raises UsageError for an unknown `fmt`.
    """

    def __init__(self, stream: IO[str] | IO[bytes], *, fmt: Format = "text", queue_size: int = DEFAULT_QUEUE_SIZE):
        if fmt not in FORMATS:
            raise UsageError(f"unknown event log format {fmt!r}; choose text or json")
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.fmt = fmt
        self._stream = stream
        self._binary = not isinstance(stream, io.TextIOBase)
        self._format = _json_formatter() if fmt == "json" else _text_formatter()
        self._queue: deque[_Item] = deque()
        self._max = queue_size
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
        self._thread = threading.Thread(target=self._run, name="bee-eventlog", daemon=True)
        self._thread.start()

    # -- producer side -------------------------------------------------------------------------

    def emit(self, map_name: str, record: Mapping[str, Any], ts: float | None = None) -> bool:
        """Queue one event (time `ts`, default now); False if it was dropped and counted as lost."""
        queue = self._queue
        if len(queue) >= self._max or self._closing or self._stopped:
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
        """Events dropped so far, per map name."""
        with self._lost_lock:
            return dict(self._lost)

    @property
    def written(self) -> int:
        """Events written (and flushed) so far."""
        return self._written

    @property
    def pending(self) -> int:
        """Events queued and not yet written."""
        return len(self._queue)

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
                continue
            popleft = queue.popleft
            batch = [popleft() for _ in range(min(len(queue), _BATCH))]
            count = len(batch)
            try:
                text = self._format(batch)
            except Exception:  # a record that cannot be formatted: keep the others
                text, count = self._format_each(batch)
            try:
                self._write(text)
            except Exception as exc:  # the output is gone: stop writing, count the rest as lost
                if isinstance(exc, BrokenPipeError):
                    self.broken = True
                else:
                    self.error = exc
                self._stopped = True
                self._drop_all(batch)
                return
            self._written += count
            if len(batch) < _BATCH and not self._closing:
                time.sleep(_LINGER)

    def _format_each(self, batch: list[_Item]) -> tuple[str, int]:
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
        for map_name, _, _ in batch:
            counts[map_name] = counts.get(map_name, 0) + 1
        while True:
            try:
                map_name = self._queue.popleft()[0]
            except IndexError:
                break
            counts[map_name] = counts.get(map_name, 0) + 1
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
