"""Event filters given as `-f/--filter map_name,key_name,regex` (Bumblebee's syntax).

The regex is everything after the second comma, so it may contain commas. It is searched
(`re.search`, Python syntax rather than Go's RE2) in the field's label value (`label_value`).
A record passes when every filter for its map matches; records of other maps always pass.
Parsing errors are `UsageError` with one sentence naming the filter. Immutable, thread-safe.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from bee.errors import UsageError
from bee.records import Record  # not dataclasses: ~8 ms + 0.7 ms a class of bee run (docs/dev/startup.md)
from bee.sinks.families import label_value


class EventFilter(Record):
    """One `map,key,regex` filter."""

    map_name: str
    key: str
    pattern: re.Pattern[str]
    text: str

    def matches(self, record: Mapping[str, object]) -> bool:
        """True if `record` has the key and the regex is found in its label value."""
        try:
            value = record[self.key]
        except KeyError:
            return False
        return self.accepts(value)

    def accepts(self, value: object) -> bool:
        """True if the regex is found in `value`'s label value (the value of this filter's key)."""
        return self.pattern.search(label_value(value)) is not None


def parse_filter(text: str) -> EventFilter:
    """Parse `map_name,key_name,regex`; UsageError if a part is missing or the regex is invalid."""
    parts = text.split(",", 2)
    if len(parts) != 3 or not parts[0].strip() or not parts[1].strip():
        raise UsageError(f"invalid filter {text!r}: expected map_name,key_name,regex")
    map_name, key, regex = parts[0].strip(), parts[1].strip(), parts[2]
    try:
        pattern = re.compile(regex)
    except re.error as exc:
        raise UsageError(f"invalid filter {text!r}: bad regex {regex!r} ({exc})") from None
    return EventFilter(map_name=map_name, key=key, pattern=pattern, text=text)


class FilterSet:
    """All filters of a run, grouped by map."""

    def __init__(self, filters: Iterable[EventFilter] = ()) -> None:
        self.filters = tuple(filters)
        by_map: dict[str, list[EventFilter]] = {}
        for f in self.filters:
            by_map.setdefault(f.map_name, []).append(f)
        self._by_map = {name: tuple(fs) for name, fs in by_map.items()}

    @classmethod
    def parse(cls, texts: Iterable[str]) -> FilterSet:
        """Parse every `-f` value (UsageError on the first bad one)."""
        return cls(parse_filter(t) for t in texts)

    def __bool__(self) -> bool:
        return bool(self.filters)

    def for_map(self, map_name: str) -> tuple[EventFilter, ...]:
        """The filters that apply to `map_name` (empty if none)."""
        return self._by_map.get(map_name, ())

    def matches(self, map_name: str, record: Mapping[str, object]) -> bool:
        """True if every filter for `map_name` matches `record` (True when there is none)."""
        return all(f.matches(record) for f in self._by_map.get(map_name, ()))

    def validate(self, fields: Mapping[str, Sequence[str]]) -> None:
        """Check each filter names a watched map (keys of `fields`) and one of its fields.

        Raises UsageError naming the filter and what exists instead."""
        for f in self.filters:
            if f.map_name not in fields:
                known = ", ".join(sorted(fields)) or "none"
                raise UsageError(
                    f"filter {f.text!r} names map {f.map_name!r}, which this program does not output (maps: {known})"
                )
            if f.key not in fields[f.map_name]:
                known = ", ".join(fields[f.map_name]) or "none"
                raise UsageError(
                    f"filter {f.text!r} names field {f.key!r}, which map {f.map_name!r} does not have (fields: {known})"
                )
