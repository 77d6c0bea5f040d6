"""Compact JSON with the bytes Go's `encoding/json.Marshal` produces.

Bumblebee marshals manifests and index.json with Go; writing the same bytes keeps
manifest digests identical for identical content. Dicts are written in their
insertion order (callers build them in Go's struct field order, and sort the keys
of what Go holds as maps). Strings are escaped like Go: `<`, `>`, `&`, U+2028 and
U+2029 as `\\u` escapes, control characters other than `\\n`, `\\r`, `\\t` as
`\\u00xx`, lone surrogates (invalid UTF-8 in Go) as U+FFFD; other text is UTF-8.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

_ESCAPED = re.compile('[\x00-\x1f"\\\\<>&\u2028\u2029\ud800-\udfff]')
_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _SHORT:
        return _SHORT[ch]
    if "\ud800" <= ch <= "\udfff":
        return "\ufffd"
    return f"\\u{ord(ch):04x}"


def _encode(value: object, out: list[str]) -> None:
    if isinstance(value, str):
        out.append('"' + _ESCAPED.sub(_escape, value) + '"')
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif value is None:
        out.append("null")
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot encode {value} as JSON")
        out.append(str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value))
    elif isinstance(value, Mapping):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, not {type(key).__name__}")
            if i:
                out.append(",")
            _encode(key, out)
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(value: object) -> bytes:
    """Encode `value` (dicts, lists, str, int, float, bool, None) as compact Go-style JSON bytes."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode("utf-8")
