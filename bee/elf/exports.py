"""What bee makes of a map, by its type and the output its name (or section) asks for: one short phrase
per pairing, and which labels its series carry, for `bee describe` and for the table of docs/running.md
(a test checks that the page shows exactly `markdown_table()`).

The pairings bee makes are `bee.elf.maps.SUPPORTED_OUTPUTS`; every other one is not exported, and the
run says so in a notice at start.
"""

from __future__ import annotations

from bee.elf.maps import MAPS_SECTION, OUTPUTS, PER_CPU_MAP_TYPES, SUPPORTED_OUTPUTS, MapSpec, map_type_name

NOT_EXPORTED = "not exported (a notice at start)"
PREFIXES = ", ".join(f"{output}_" for output in OUTPUTS[:-1]) + f" or {OUTPUTS[-1]}_"
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


def _distance(a: str, b: str) -> int:
    """Levenshtein distance of two short words (a map name's first word and an output's name)."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def _close(word: str, output: str) -> bool:
    """A typo of `output`: one edit away for the short ones (with the same first letter: `list` is not
    `hist`), two for `counter`, `log2hist`, `linhist`."""
    if len(output) <= 5:
        return word[0] == output[0] and _distance(word, output) <= 1
    return _distance(word, output) <= 2


def meant_name(name: str) -> str | None:
    """The output-prefixed name a map called `name` was probably meant to have (`countr_execs` →
    `counter_execs`, `Counter_execs` → `counter_execs`, `counterexecs` → `counter_execs`), or None when its
    name is not close to any prefix (`start`, `events`)."""
    head, sep, rest = name.partition("_")
    lowered = head.lower()
    if sep and rest:
        close = [output for output in OUTPUTS if output == lowered or (len(head) >= 3 and _close(lowered, output))]
        if close:
            return f"{min(close, key=lambda output: _distance(lowered, output))}_{rest}"
    for output in sorted(OUTPUTS, key=len, reverse=True):  # log2hist before hist
        if name.lower().startswith(output) and len(name) > len(output):
            return f"{output}_{name[len(output):].lstrip('_')}"
    return None


def untracked_notices(maps: tuple[MapSpec, ...], location: str) -> tuple[str, ...]:
    """What a run says at start about maps it will not export although their name suggests it should (a
    typo in the prefix, named in one sentence with the name meant), and about a program that exports no map
    at all. Maps named for an output their type cannot give are said by `MapSpec.unsupported`."""
    notices = []
    for spec in maps:
        if spec.output is not None or spec.name.startswith(".") or spec.section != MAPS_SECTION:
            continue
        meant = meant_name(spec.name)
        if meant is not None:
            notices.append(f"map {spec.name} is not exported: its name has no output prefix (did you mean "
                           f"{meant}?); bee exports maps named {PREFIXES} (or chosen with --output)")
    if not any(spec.tracked for spec in maps):
        notices.append(f"{location} exports no map: none is named {PREFIXES} (or chosen with --output "
                       "MAP=KIND), so this run shows no events and no ebpf_solo_io_ metrics; bee describe lists "
                       "its maps")
    return tuple(notices)
