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
    """RFC 3339 UTC times with microseconds, `2026-11-25T18:00:00.123456Z`; one writer thread only.

    `second` and `prefix` (the text up to the dot) are those of the last second seen; code that
    formats many times inline checks `second` and calls `seek` when it changed."""

    __slots__ = ("second", "prefix")

    def __init__(self) -> None:
        self.second: int | None = None
        self.prefix = ""

    def seek(self, second: int) -> None:
        self.prefix = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))
        self.second = second

    def __call__(self, ts: float) -> str:
        micros = int(ts * 1_000_000 + 0.5)
        second = micros // 1_000_000
        if second != self.second:
            self.seek(second)
        return self.prefix + str(micros - second * 1_000_000 + 1_000_000)[1:] + "Z"


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


_MAX_SHAPES = 256  # compiled line functions kept per formatter (normally one per map)

_Line = Callable[[Mapping[str, Any], float], "str | None"]


def _compile_line(what: str, template: str, names: tuple[str, ...], args: list[str], guards: list[str],
                  scope: dict[str, Any]) -> _Line:
    """`line(record, ts)`: `template % (time prefix, microseconds, *args)` when `record` has exactly the
    field names `names` in that order (bound to `v0`, `v1`... in `args` and `guards`) and every guard
    holds; None otherwise. `scope` gives the names `args` use and `clock` (a _Clock)."""
    count = len(names)
    lines = ["def line(record, ts):"]
    if count:
        lines += ["    try:",
                  f"        {''.join(f'k{i}, ' for i in range(count))}= record",
                  f"        {''.join(f'v{i}, ' for i in range(count))}= record.values()",
                  "    except ValueError:",  # another number of fields
                  "        return None",
                  "    if not (" + " and ".join(f"k{i} == _names[{i}]" for i in range(count)) + "):",
                  "        return None"]
    else:
        lines += ["    if record:",
                  "        return None"]
    if guards:
        lines += [f"    if not ({' and '.join(guards)}):",
                  "        return None"]
    # The time as _Clock writes it, inlined: the prefix of its second, then 6 digits of microseconds.
    lines += ["    m = int(ts * 1_000_000 + 0.5)",
              "    s = m // 1_000_000",
              "    if s != clock.second:",
              "        clock.seek(s)",
              f"    return _template % (clock.prefix, m - s * 1_000_000, {''.join(a + ', ' for a in args)})"]
    namespace = dict(scope, _template=template, _names=names)
    exec(compile("\n".join(lines) + "\n", f"<event log line of {what}>", "exec"), namespace)  # noqa: S102
    return namespace["line"]  # type: ignore[no-any-return]


class _Shapes:
    """A formatter's line functions, compiled per (map, field names); writer thread only.

    `format_batch` formats each record with the function its map's last record used; a record
    that function does not take (other fields, or a str/int field holding another type) gets the
    function of its own shape, compiled on first sight, or `each_field` when `compile_shape`
    returns None or the cache is full."""

    def __init__(self, compile_shape: Callable[[str, Mapping[str, Any]], _Line | None],
                 each_field: Callable[[str, Mapping[str, Any], float], str]) -> None:
        self._compile = compile_shape
        self._each_field = each_field
        self._shapes: dict[tuple[str, tuple[Any, ...]], _Line | None] = {}
        self._current: dict[str, _Line] = {}  # map → the line function its last record used

    def format_batch(self, batch: list[_Item]) -> str:
        lines = []
        get, line_of = self._current.get, self._line_of
        for map_name, record, ts in batch:
            line = get(map_name)
            text = line(record, ts) if line is not None else None
            lines.append(text if text is not None else line_of(map_name, record, ts))
        return "".join(lines)

    def _line_of(self, map_name: str, record: Mapping[str, Any], ts: float) -> str:
        names = tuple(record)
        key = (map_name, names)
        if key in self._shapes:
            line = self._shapes[key]
        else:
            line = None
            if len(self._shapes) < _MAX_SHAPES and type(map_name) is str and all(type(k) is str for k in names):
                line = self._compile(map_name, record)
                self._shapes[key] = line
        if line is not None:
            self._current[map_name] = line
            text = line(record, ts)
            if text is not None:
                return text
        return self._each_field(map_name, record, ts)


def _shape_fields(record: Mapping[str, Any], field_part: Callable[[str, str], str], *, str_arg: str,
                  other_arg: str) -> tuple[list[str], list[str], list[str]]:
    """The per-field pieces of a line template for records shaped like `record`: each field's
    template part (`field_part(name, "%d" or "%s")`), the expression giving its text from `v<i>`
    (ints as they are, strings through `str_arg`, anything else through `other_arg`, both with
    `{v}` for the variable), and the type guards a later record must pass to use the template."""
    parts, args, guards = [], [], []
    for i, (key, value) in enumerate(record.items()):
        v = f"v{i}"
        if type(value) is int:
            code, arg = "%d", v
            guards.append(f"type({v}) is int")
        elif type(value) is str:
            code, arg = "%s", str_arg.format(v=v)
            guards.append(f"type({v}) is str")
        else:
            code, arg = "%s", other_arg.format(v=v)
        parts.append(field_part(key, code))
        args.append(arg)
    return parts, args, guards


def _json_formatter() -> Callable[[list[_Item]], str]:
    """Lines `{"time": ..., "map": ..., "event": {...}}`; str/int/bool fields are encoded
    inline (the common case), anything else by the C encoder.

    The records of a map have the same fields, each keeping its type: a `%` template per
    (map, field names) formats them in one step, with the same text as field by field."""
    encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, check_circular=False, default=_json_default)
    encode = encoder.encode
    quote = encode_basestring
    clock = _Clock()

    def value_json(value: Any) -> str:
        try:
            return encode(value)
        except ValueError:  # NaN or infinity
            return encode(_finite(value))

    def field_text(value: Any) -> str:
        kind = type(value)
        if kind is str:
            return quote(value)
        if kind is int:
            return str(value)
        if kind is bool:
            return "true" if value else "false"
        return value_json(value)

    def each_field(map_name: str, record: Mapping[str, Any], ts: float) -> str:
        fields = [f"{quote(key)}: {field_text(value)}" for key, value in record.items()]
        return f'{{"time": "{clock(ts)}", "map": {quote(map_name)}, "event": {{{", ".join(fields)}}}}}\n'

    def compile_shape(map_name: str, record: Mapping[str, Any]) -> _Line:
        parts, args, guards = _shape_fields(record, lambda key, code: f"{quote(key).replace('%', '%%')}: {code}",
                                            str_arg="quote({v})", other_arg="field_text({v})")
        template = ('{"time": "%s%06dZ", "map": ' + quote(map_name).replace("%", "%%") + ', "event": {'
                    + ", ".join(parts) + "}}\n")
        return _compile_line(map_name, template, tuple(record), args, guards,
                             {"clock": clock, "quote": quote, "field_text": field_text})

    return _Shapes(compile_shape, each_field).format_batch


def text_value(value: object) -> str:
    """A field value as logfmt text: quoted (JSON string escapes) when it holds whitespace,
    `=`, `"` or control characters, or is empty."""
    text = value if type(value) is str else label_value(value)
    if not text or _needs_quotes(text):
        return encode_basestring(text)
    return text


def _text_formatter() -> Callable[[list[_Item]], str]:
    """Lines `<time> <map> key=value ...`, formatted like the JSON lines: a `%` template per
    (map, field names), the same text as field by field."""
    clock = _Clock()
    needs_quotes = _needs_quotes
    quote = encode_basestring

    def each_field(map_name: str, record: Mapping[str, Any], ts: float) -> str:
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
        return " ".join(parts) + "\n"

    def compile_shape(map_name: str, record: Mapping[str, Any]) -> _Line:
        fields, args, guards = _shape_fields(
            record, lambda key, code: f"{key.replace('%', '%%')}={code}",
            str_arg="({v} if {v} and not needs_quotes({v}) else quote({v}))", other_arg="text_value({v})")
        parts = ["%s%06dZ", map_name.replace("%", "%%"), *fields]
        return _compile_line(map_name, " ".join(parts) + "\n", tuple(record), args, guards,
                             {"clock": clock, "quote": quote, "needs_quotes": needs_quotes, "text_value": text_value})

    return _Shapes(compile_shape, each_field).format_batch


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
