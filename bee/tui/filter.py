"""Filters typed with `/` in the view: the `-f` regex semantics on one table.

Grammar: terms joined by `&&` (all must match); a term is `field=regex` when `field` is one of
the table's columns, or a bare regex searched in every field. The regex is Python's, searched
(`re.search`) in the field's label value (`label_value`), exactly as `-f map,field,regex` does.
A term that starts like `name=` where `name` is no column is an error; write `name\\=...` to
search for a literal `name=` in every field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bee.sinks.families import label_value
from bee.sinks.filters import EventFilter

SEPARATOR = " && "
_FIELD_TERM = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.DOTALL)


class FilterError(ValueError):
    """A filter the view cannot use; the message is one sentence shown in the view."""


@dataclass(frozen=True, slots=True)
class Term:
    """One `field=regex` (field set) or bare regex (field None)."""

    field: str | None
    pattern: re.Pattern[str]

    def matches(self, record: Mapping[str, object]) -> bool:
        search = self.pattern.search
        if self.field is not None:
            if self.field not in record:
                return False
            return search(label_value(record[self.field])) is not None
        return any(search(label_value(value)) is not None for value in record.values())

    @property
    def text(self) -> str:
        return self.pattern.pattern if self.field is None else f"{self.field}={self.pattern.pattern}"


@dataclass(frozen=True, slots=True)
class TableFilter:
    """All terms of one table's filter. Immutable, so readers may use it while the view swaps it."""

    terms: tuple[Term, ...]

    @property
    def text(self) -> str:
        return SEPARATOR.join(term.text for term in self.terms)

    def matches(self, record: Mapping[str, object]) -> bool:
        return all(term.matches(record) for term in self.terms)

    @classmethod
    def parse(cls, text: str, fields: Sequence[str]) -> TableFilter | None:
        """The filter `text` states for a table of `fields`; None when empty. Raises FilterError."""
        terms = []
        for part in text.split("&&"):
            part = part.strip()
            if not part:
                continue
            field: str | None = None
            regex = part
            named = _FIELD_TERM.fullmatch(part)
            if named:
                if named.group(1) not in fields:
                    raise FilterError(f"no field {named.group(1)!r} here (fields: {', '.join(fields)})")
                field, regex = named.group(1), named.group(2)
            try:
                terms.append(Term(field, re.compile(regex)))
            except re.error as exc:
                raise FilterError(f"bad regex {regex!r}: {exc}") from None
        return cls(tuple(terms)) if terms else None

    @classmethod
    def from_flags(cls, filters: Sequence[EventFilter]) -> TableFilter | None:
        """The filter the `-f` flags of one map start with (None without any)."""
        return cls(tuple(Term(f.key, f.pattern) for f in filters)) if filters else None
