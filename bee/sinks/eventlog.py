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
import json
import math
import os
import re
import select
import stat
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from json.encoder import encode_basestring

from bee.errors import UsageError
from bee.log import get as get_logger  # imports logging only for a message: ~6 ms (docs/dev/startup.md)
from bee.records import Record  # not dataclasses: ~8 ms + 0.7 ms a class of bee run (docs/dev/startup.md)
from bee.sinks.families import label_value

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
_RecordItem = tuple[str, "Mapping[str, Any]", float]  # a queued record
# logfmt quotes a value with whitespace, '=', '"' or control characters (and an empty one).
_needs_quotes = re.compile(r'[\s="\x00-\x1f\x7f]').search


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

    def parts(self, ts: float) -> tuple[str, int]:
        """The text of `ts` up to the dot, and its microseconds (a line template's first two values)."""
        micros = int(ts * 1_000_000 + 0.5)
        second = micros // 1_000_000
        if second != self.second:
            self.seek(second)
        return self.prefix, micros - second * 1_000_000

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

_Line = Callable[["Mapping[str, Any]", float], "str | None"]


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

    def format_batch(self, batch: list[_RecordItem]) -> str:
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


# How a field of each kind becomes text in a line template: its `%` code and the expression giving
# its value from `{v}` (the field's value). Kinds are those of decoders (`int`, `bool`, `str`,
# `float`, `any`); `any` goes through the same function as field-by-field formatting.
_JSON_ARGS = {"int": ("%d", "{v}"), "str": ("%s", "quote({v})"), "bool": ("%s", "('true' if {v} else 'false')"),
              "any": ("%s", "field_text({v})")}
# A printable ASCII string needs logfmt quotes only for a space, `=` or `"` (three substring tests,
# cheaper than the regular expression, which decides for every other string).
_TEXT_STR = ("({v} if {v} and ((' ' not in {v} and '=' not in {v} and '\"' not in {v}) "
             "if {v}.isascii() and {v}.isprintable() else not needs_quotes({v})) else quote({v}))")
_TEXT_ARGS = {"int": ("%d", "{v}"), "str": ("%s", _TEXT_STR), "any": ("%s", "text_value({v})")}


def _kind_fields(fields: Sequence[tuple[str, str]], field_part: Callable[[str, str], str],
                 by_kind: Mapping[str, tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Each field's template part (`field_part(name, code)`) and value expression (with `{v}`)."""
    parts, args = [], []
    for name, kind in fields:
        code, arg = by_kind.get(kind, by_kind["any"])
        parts.append(field_part(name, code))
        args.append(arg)
    return parts, args


def _shape_fields(record: Mapping[str, Any], field_part: Callable[[str, str], str],
                  by_kind: Mapping[str, tuple[str, str]]) -> tuple[list[str], list[str], list[str]]:
    """The per-field pieces of a line template for records shaped like `record` (`_kind_fields`
    with the variables `v0`, `v1`...), and the type guards a later record must pass to use it:
    int and str fields must still hold an int and a str."""
    kinds = []
    for value in record.values():
        kind = type(value)
        kinds.append("int" if kind is int else "str" if kind is str else "any")
    parts, args = _kind_fields(list(zip(record, kinds, strict=True)), field_part, by_kind)
    args = [arg.replace("{v}", f"v{i}") for i, arg in enumerate(args)]
    guards = [f"type(v{i}) is {kind}" for i, kind in enumerate(kinds) if kind != "any"]
    return parts, args, guards


class LineTemplate(Record):
    """How to format the events of one map with fields of known kinds, without a record.

    `template % (prefix, micros, *values)` is the line, where `prefix, micros = clock.parts(ts)`
    and value i is `args[i]` with `{v}` replaced by an expression giving field i's value;
    `scope` holds the names the expressions use. The text equals the event log's own line for
    the same record (`EventLog.emit`)."""

    template: str
    args: tuple[str, ...]
    scope: Mapping[str, Any]
    clock: _Clock


class _Formatter:
    """A format's record formatter (`format_batch`) and its line templates by field kinds."""

    def __init__(self, format_batch: Callable[[list[_RecordItem]], str],
                 line_template: Callable[[str, Sequence[tuple[str, str]]], LineTemplate]) -> None:
        self.format_batch = format_batch
        self.line_template = line_template


def _formatter(field_part: Callable[[str, str], str], template_of: Callable[[str, list[str]], str],
               by_kind: Mapping[str, tuple[str, str]], scope: dict[str, Any], clock: _Clock,
               each_field: Callable[[str, Mapping[str, Any], float], str]) -> _Formatter:
    """A format's formatter from its pieces: `field_part(name, code)` is one field's part of a
    template, `template_of(map, parts)` the whole `%` template (time first), `by_kind` the value
    expressions by kind, `scope` the names they use, `each_field` the field-by-field fallback."""

    def compile_shape(map_name: str, record: Mapping[str, Any]) -> _Line:
        parts, args, guards = _shape_fields(record, field_part, by_kind)
        return _compile_line(map_name, template_of(map_name, parts), tuple(record), args, guards,
                             {"clock": clock, **scope})

    def line_template(map_name: str, fields: Sequence[tuple[str, str]]) -> LineTemplate:
        parts, args = _kind_fields(fields, field_part, by_kind)
        return LineTemplate(template_of(map_name, parts), tuple(args), scope, _Clock())

    return _Formatter(_Shapes(compile_shape, each_field).format_batch, line_template)


def _json_formatter(heads: Mapping[str, tuple[str, str]]) -> _Formatter:
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

    def head(channel: str) -> str:
        """`"map": ...` and, for a program of several, `, "program": ...`."""
        map_name, program = heads.get(channel, (channel, ""))
        return f'"map": {quote(map_name)}' + (f', "program": {quote(program)}' if program else "")

    def each_field(map_name: str, record: Mapping[str, Any], ts: float) -> str:
        fields = [f"{quote(key)}: {field_text(value)}" for key, value in record.items()]
        return f'{{"time": "{clock(ts)}", {head(map_name)}, "event": {{{", ".join(fields)}}}}}\n'

    def field_part(key: str, code: str) -> str:
        return f"{quote(key).replace('%', '%%')}: {code}"

    def template_of(map_name: str, parts: list[str]) -> str:
        return ('{"time": "%s%06dZ", ' + head(map_name).replace("%", "%%") + ', "event": {'
                + ", ".join(parts) + "}}\n")

    return _formatter(field_part, template_of, _JSON_ARGS, {"quote": quote, "field_text": field_text}, clock,
                      each_field)


def text_value(value: object) -> str:
    """A field value as logfmt text: quoted (JSON string escapes) when it holds whitespace,
    `=`, `"` or control characters, or is empty."""
    text = value if type(value) is str else label_value(value)
    if not text or _needs_quotes(text):
        return encode_basestring(text)
    return text


def _text_formatter(heads: Mapping[str, tuple[str, str]]) -> _Formatter:
    """Lines `<time> <map> key=value ...`, formatted like the JSON lines: a `%` template per
    (map, field names), the same text as field by field."""
    clock = _Clock()
    needs_quotes = _needs_quotes
    quote = encode_basestring

    def head(channel: str) -> list[str]:
        """The map name and, for a program of several, `program=NAME`."""
        map_name, program = heads.get(channel, (channel, ""))
        return [map_name, f"program={text_value(program)}"] if program else [map_name]

    def each_field(map_name: str, record: Mapping[str, Any], ts: float) -> str:
        parts = [clock(ts), *head(map_name)]
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

    def field_part(key: str, code: str) -> str:
        return f"{key.replace('%', '%%')}={code}"

    def template_of(map_name: str, fields: list[str]) -> str:
        return " ".join(["%s%06dZ", *(part.replace("%", "%%") for part in head(map_name)), *fields]) + "\n"

    return _formatter(field_part, template_of, _TEXT_ARGS,
                      {"quote": quote, "needs_quotes": needs_quotes, "text_value": text_value}, clock, each_field)


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
        self._formatter = _json_formatter(self._heads) if fmt == "json" else _text_formatter(self._heads)
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
        records: list[_RecordItem] = []
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

    def _format_records(self, records: list[_RecordItem], parts: list[str]) -> int:
        try:
            parts.append(self._format(records))
            return len(records)
        except Exception:  # a record that cannot be formatted: keep the others
            text, count = self._format_each(records)
            parts.append(text)
            return count

    def _format_each(self, batch: list[_RecordItem]) -> tuple[str, int]:
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
