"""`RunSettings`: everything `bee run` was asked to do, parsed and validated before any kernel work."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

from bee.errors import UsageError
from bee.records import Record

DEFAULT_PROM_PORT = 9091
DEFAULT_POLL_INTERVAL = 1.0


class RunSettings(Record):
    """Options of one run (give them by keyword). `programs`: files or references, one or more;
    `hist_buckets` and `hist_value_keys` are keyed by map name (in every program)."""

    programs: tuple[str, ...]
    no_tty: bool = False
    fmt: str = "text"
    filters: tuple[str, ...] = ()
    hist_buckets: Mapping[str, tuple[float, ...]] = MappingProxyType({})
    hist_value_keys: Mapping[str, str] = MappingProxyType({})
    prom_host: str | None = None  # None: every interface, IPv6 and IPv4 where the host has IPv6
    prom_port: int = DEFAULT_PROM_PORT
    poll_interval: float = DEFAULT_POLL_INTERVAL
    pin_maps: Path | None = None
    pin_progs: Path | None = None
    iface: str | None = None
    fail_fast: bool = False  # several programs: one that fails to start ends the run


def parse_hist_buckets(values: Iterable[str]) -> dict[str, tuple[float, ...]]:
    """`-b "map,[1,2,3]"` (bumblebee's syntax) → {map: (1, 2, 3)}; UsageError on a bad value."""
    parsed: dict[str, tuple[float, ...]] = {}
    for text in values:
        import json  # only when there are buckets to read

        name, sep, rest = text.partition(",")
        try:
            buckets = json.loads(rest) if sep else None
        except ValueError:
            buckets = None
        if not name or not isinstance(buckets, list) or not buckets or not all(
                isinstance(b, int | float) and not isinstance(b, bool) for b in buckets):
            raise UsageError(f"invalid histogram buckets {text!r}: expected map_name,[b1,b2,...] with numbers")
        parsed[name.strip()] = tuple(float(b) for b in buckets)
    return parsed


def parse_value_keys(values: Iterable[str]) -> dict[str, str]:
    """`-k map,field` → {map: field}; UsageError on a bad value."""
    parsed: dict[str, str] = {}
    for text in values:
        name, sep, key = (part.strip() for part in text.partition(","))
        if not name or not sep or not key or "," in key:
            raise UsageError(f"invalid histogram value key {text!r}: expected map_name,field_name")
        parsed[name] = key
    return parsed
