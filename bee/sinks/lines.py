"""The event log's lines: logfmt-like text or JSON lines, each from a map name, a record and a time.

`json_formatter(heads)` and `text_formatter(heads)` give a `Formatter`: `format_batch` turns queued
`(map, record, time)` items into text, compiling one line function per map and field names (a `%`
template with the time inlined, the hot path of the event log's writer thread), and `line_template`
gives the template for fields of known kinds that ring buffers fill without building a record.
`heads` maps a channel of a run of several programs to its (map, program). Writer thread only: the
compiled functions share one clock. Nothing here does I/O; `EventLog` queues and writes.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from json.encoder import encode_basestring

from bee.records import Record  # not dataclasses: ~8 ms + 0.7 ms a class of bee run (docs/dev/startup.md)
from bee.sinks.families import label_value

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import Any

RecordItem = tuple[str, "Mapping[str, Any]", float]  # a queued record
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

    def format_batch(self, batch: list[RecordItem]) -> str:
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


class Formatter:
    """A format's record formatter (`format_batch`) and its line templates by field kinds."""

    def __init__(self, format_batch: Callable[[list[RecordItem]], str],
                 line_template: Callable[[str, Sequence[tuple[str, str]]], LineTemplate]) -> None:
        self.format_batch = format_batch
        self.line_template = line_template


def _formatter(field_part: Callable[[str, str], str], template_of: Callable[[str, list[str]], str],
               by_kind: Mapping[str, tuple[str, str]], scope: dict[str, Any], clock: _Clock,
               each_field: Callable[[str, Mapping[str, Any], float], str]) -> Formatter:
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

    return Formatter(_Shapes(compile_shape, each_field).format_batch, line_template)


def json_formatter(heads: Mapping[str, tuple[str, str]]) -> Formatter:
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


def text_formatter(heads: Mapping[str, tuple[str, str]]) -> Formatter:
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
