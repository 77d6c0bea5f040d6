"""What bee makes of a map, by its type and the output its name (or section) asks for: one short phrase
per pairing, and which labels its series carry, for `bee describe` and for the table of docs/running.md
(a test checks that the page shows exactly `markdown_table()`).

The pairings bee makes are `bee.elf.maps.SUPPORTED_OUTPUTS`; every other one is not exported, and the
run says so in a notice at start.
"""

from __future__ import annotations

from bee.elf.maps import PER_CPU_MAP_TYPES, SUPPORTED_OUTPUTS, map_type_name

NOT_EXPORTED = "not exported (a notice at start)"
PER_CPU = " (summed over CPUs)"

#: Rows of the table: map types that behave alike, by their names.
TYPE_GROUPS: tuple[tuple[str, ...], ...] = (
    ("ringbuf",),
    ("hash", "lru_hash"),
    ("percpu_hash", "lru_percpu_hash"),
    ("array",),
    ("percpu_array",),
)
#: Columns of the table: outputs, the two kinds of histogram kept in the kernel sharing one.
COLUMNS: tuple[tuple[str, ...], ...] = (("print",), ("counter",), ("gauge",), ("hist",), ("log2hist", "linhist"))

_RING = {
    "print": "each event on stdout",
    "counter": "counter, +1 per event",
    "hist": "histogram of the event's field `le`",
}
_POLLED = {
    "print": "entries whose value changed, on stdout",
    "counter": "counter following the value",
    "gauge": "gauge set to the value",
    "log2hist": "histogram counted in the kernel",
    "linhist": "histogram counted in the kernel",
}
_TYPE_NUMBERS = {map_type_name(t): t for t in SUPPORTED_OUTPUTS}


def exported(type_name: str, output: str) -> bool:
    """Whether bee makes `output` from a map of type `type_name` (`hash`, `percpu_array`, ...)."""
    map_type = _TYPE_NUMBERS.get(type_name)
    return map_type is not None and output in SUPPORTED_OUTPUTS[map_type]


def phrase(type_name: str, output: str) -> str:
    """What bee does with a map of type `type_name` named for `output`, in a few words."""
    if not exported(type_name, output):
        return NOT_EXPORTED
    if type_name == "ringbuf":
        return _RING[output]
    return _POLLED[output] + (PER_CPU if _TYPE_NUMBERS[type_name] in PER_CPU_MAP_TYPES else "")


def labels(type_name: str, output: str) -> str:
    """Which labels the series (or event fields) of such a map have; empty when it is not exported."""
    if not exported(type_name, output):
        return ""
    if type_name == "ringbuf":
        return "the event's fields" if output != "hist" else "the event's fields but the observed one (`le`)"
    if type_name in ("array", "percpu_array"):
        return "`index` (or the key's fields); an array of one entry: none"
    return "the key's fields"


def markdown_table() -> str:
    """The map type × output table of docs/running.md, in Markdown."""
    header = "| map type | " + " | ".join(" / ".join(f"`{o}_`" for o in column) for column in COLUMNS) + " |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 1)]
    for group in TYPE_GROUPS:
        cells = [phrase(group[0], column[0]) for column in COLUMNS]
        lines.append(f"| {', '.join(group)} | " + " | ".join(cells) + " |")
    lines.append(f"| any other type | {' | '.join(NOT_EXPORTED for _ in COLUMNS)} |")
    return "\n".join(lines)

