"""Map definitions: BTF-defined maps (`.maps`, `.maps.<kind>`), legacy `maps`, and bee's classification.

A BTF-defined map is a VAR in a DATASEC whose type is a struct of pointer members:
`__uint(name, N)` is `int (*name)[N]` (a PTR to an ARRAY of N elements) and
`__type(name, T)` is `T *name` (a PTR to T). Which maps become output:

- `.maps` and a name prefixed `print_`, `counter_`, `gauge_` or `hist_` (Bumblebee's), or `log2hist_` or
  `linhist_` (bee's histograms kept in the kernel): convention "prefix" (v0.0.15);
- `.maps.print`, `.maps.counter`, `.maps.gauge` (and `.maps.hist`): convention "section" (v0.0.13/14).

A map is tracked when bee makes its output from its type (`SUPPORTED_OUTPUTS`): ring buffers, and the
hash and array kinds (plain, LRU, per-CPU); any other pairing keeps its classification with
`tracked` False and a sentence in `unsupported` (the run says it in a notice and goes on).
"""

from __future__ import annotations

import struct

from bee.elf.btf import Btf
from bee.elf.btf_types import Array, Datasec, DeclTag, Ptr, Struct, Var
from bee.errors import ElfError
from bee.records import Record  # not dataclasses: ~8 ms + 0.7 ms a class of bee run (docs/dev/startup.md)

MAP_TYPE_NAMES = (
    "unspec", "hash", "array", "prog_array", "perf_event_array", "percpu_hash", "percpu_array",
    "stack_trace", "cgroup_array", "lru_hash", "lru_percpu_hash", "lpm_trie", "array_of_maps",
    "hash_of_maps", "devmap", "sockmap", "cpumap", "xskmap", "sockhash", "cgroup_storage",
    "reuseport_sockarray", "percpu_cgroup_storage", "queue", "stack", "sk_storage", "devmap_hash",
    "struct_ops", "ringbuf", "inode_storage", "task_storage", "bloom_filter", "user_ringbuf",
    "cgrp_storage", "arena",
)
BPF_MAP_TYPE_HASH = 1
BPF_MAP_TYPE_ARRAY = 2
BPF_MAP_TYPE_PERCPU_HASH = 5
BPF_MAP_TYPE_PERCPU_ARRAY = 6
BPF_MAP_TYPE_LRU_HASH = 9
BPF_MAP_TYPE_LRU_PERCPU_HASH = 10
BPF_MAP_TYPE_RINGBUF = 27

#: Outputs a name prefix selects (`<output>_`); histograms kept in the kernel come last, so no prefix is
#: a prefix of another's.
OUTPUTS = ("print", "counter", "gauge", "hist", "log2hist", "linhist")
#: Outputs a `.maps.<output>` section selects (Bumblebee v0.0.13/14 knew no others).
SECTION_OUTPUTS = ("print", "counter", "gauge", "hist")
#: Histograms a program keeps in the kernel: a map whose value is an array of counts, one per slot.
KERNEL_HISTOGRAMS = frozenset({"log2hist", "linhist"})
#: Map types read by polling: every entry's value read each `--poll-interval`.
POLLED_MAP_TYPES = frozenset({BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_PERCPU_HASH,
                              BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY})
#: Polled types whose lookups give one value per possible CPU (bee sums them).
PER_CPU_MAP_TYPES = frozenset({BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY})
#: Polled types whose keys are indexes that always exist (no entry is ever deleted).
ARRAY_MAP_TYPES = frozenset({BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY})
_POLLED_OUTPUTS = frozenset({"print", "counter", "gauge", *KERNEL_HISTOGRAMS})
SUPPORTED_OUTPUTS: dict[int, frozenset[str]] = {
    BPF_MAP_TYPE_RINGBUF: frozenset({"print", "counter", "hist"}),
    **{map_type: _POLLED_OUTPUTS for map_type in sorted(POLLED_MAP_TYPES)},
}
MAPS_SECTION = ".maps"
#: The prefixes, as messages name them: `print_, counter_, ... or linhist_`.
PREFIXES = ", ".join(f"{output}_" for output in OUTPUTS[:-1]) + f" or {OUTPUTS[-1]}_"
LEGACY_MAPS_SECTION = "maps"


def map_type_name(map_type: int) -> str:
    """`ringbuf` for 27, `hash` for 1; `type 99` for numbers this table does not know."""
    return MAP_TYPE_NAMES[map_type] if 0 <= map_type < len(MAP_TYPE_NAMES) else f"type {map_type}"


def is_map_section(name: str) -> bool:
    """True for `.maps` and `.maps.<anything>`."""
    return name == MAPS_SECTION or name.startswith(MAPS_SECTION + ".")


class MapSpec(Record):
    """One map as the object declares it.

    Sizes and type ids come from `__type(key, T)` / `__type(value, T)` (type id kept
    unresolved, so typedef names survive) or from `__uint(key_size, N)` / `__uint(value_size, N)`
    (type id None). `var_type_id` and `def_type_id` are the BTF VAR and its struct
    (None for legacy maps); `symbol_offset`/`symbol_size` place it in its ELF section.
    """

    name: str
    section: str
    map_type: int
    type_name: str
    max_entries: int = 0
    key_size: int = 0
    value_size: int = 0
    key_type_id: int | None = None
    value_type_id: int | None = None
    map_flags: int = 0
    pinning: int = 0
    numa_node: int = 0
    map_extra: int = 0
    inner_type_id: int | None = None  # `__array(values, ...)` of map-in-map and prog arrays
    var_type_id: int | None = None
    def_type_id: int | None = None
    symbol_offset: int = 0
    symbol_size: int = 0
    legacy: bool = False  # a `struct bpf_map_def SEC("maps")` map (libbpf 1.x no longer loads these)
    output: str | None = None  # print, counter, gauge, hist, log2hist, linhist
    convention: str | None = None  # "prefix", "section" or None
    tracked: bool = False
    unsupported: str | None = None  # why an output map is not tracked, as one sentence
    help: str | None = None  # what the program says the map holds (BEE_HELP: a `bee.help:` decl tag)
    unit: str | None = None  # the unit of its values (BEE_UNIT: a `bee.unit:` decl tag)

    @property
    def polled(self) -> bool:
        """Read by polling every entry (hash and array kinds), not as a stream of events."""
        return self.map_type in POLLED_MAP_TYPES

    @property
    def per_cpu(self) -> bool:
        """A lookup gives one value per possible CPU."""
        return self.map_type in PER_CPU_MAP_TYPES

    @property
    def is_array(self) -> bool:
        """Keys are indexes 0..max_entries-1 that always exist (ARRAY, PERCPU_ARRAY)."""
        return self.map_type in ARRAY_MAP_TYPES


def classify(name: str, section: str) -> tuple[str | None, str | None]:
    """(output, convention) of a map called `name` in `section`; (None, None) for untracked maps."""
    if section == MAPS_SECTION:
        for output in OUTPUTS:
            if name.startswith(output + "_"):
                return output, "prefix"
        return None, None
    if is_map_section(section):
        suffix = section[len(MAPS_SECTION) + 1:]
        if suffix in SECTION_OUTPUTS:
            return suffix, "section"
    return None, None


def unsupported_reason(name: str, type_name: str, output: str) -> str:
    """The sentence that says why map `name` of type `type_name` gives no `output`, with what would."""
    reason = f"map {name}: type {type_name} is not supported for output {output}"
    if output == "hist" and type_name != "ringbuf":
        return reason + " (a hist_ map is a ring buffer; a histogram kept in a hash or array map is named " \
                        "log2hist_ or linhist_)"
    if type_name == "ringbuf":
        return reason + " (a ring buffer gives print, counter or hist)"
    return reason + " (print, counter, gauge, log2hist and linhist need a hash or array map, hist a ring buffer)"


def chosen_output(spec: MapSpec, output: str) -> MapSpec:
    """`spec` exported as `output`, whatever its name says (`bee run --output MAP=KIND`, for programs
    written without Bumblebee's names, as bpfman's). ValueError, one sentence, for an output bee does not
    know or cannot make from the map's type."""
    if output not in OUTPUTS:
        raise ValueError(f"map {spec.name}: {output!r} is not an output (outputs: {', '.join(OUTPUTS)})")
    if output not in SUPPORTED_OUTPUTS.get(spec.map_type, frozenset()):
        raise ValueError(unsupported_reason(spec.name, spec.type_name, output))
    return spec.replace(output=output, convention="chosen", tracked=True, unsupported=None)


def _with_output(spec: MapSpec) -> MapSpec:
    output, convention = classify(spec.name, spec.section)
    if output is None:
        return spec
    supported = output in SUPPORTED_OUTPUTS.get(spec.map_type, frozenset())
    reason = None if supported else unsupported_reason(spec.name, spec.type_name, output)
    return spec.replace(output=output, convention=convention, tracked=supported, unsupported=reason)


def _uint(btf: Btf, type_id: int, map_name: str, member: str) -> int:
    ptr = btf.resolve(type_id)
    array = btf.resolve(ptr.type_id) if isinstance(ptr, Ptr) else None
    if not isinstance(array, Array):
        raise ElfError(f"map {map_name}: member {member} is not declared with __uint (a pointer to an array)")
    return array.nelems


def _pointee(btf: Btf, type_id: int, map_name: str, member: str) -> int:
    ptr = btf.resolve(type_id)
    if not isinstance(ptr, Ptr):
        raise ElfError(f"map {map_name}: member {member} is not declared with __type (a pointer)")
    return ptr.type_id


def _size(btf: Btf, type_id: int, map_name: str, member: str) -> int:
    try:
        return btf.size_of(type_id)
    except ElfError:
        raise ElfError(f"map {map_name}: its {member} type {btf.type_name(type_id)} has no size") from None


#: Declaration tags a program puts on a map variable (solo_types.h's BEE_HELP and BEE_UNIT).
HELP_TAG, UNIT_TAG = "bee.help:", "bee.unit:"


def map_tags(btf: Btf) -> dict[int, dict[str, str]]:
    """The `bee.help:`/`bee.unit:` declaration tags of the whole variables of `btf`: VAR id → {"help": ...}."""
    tags: dict[int, dict[str, str]] = {}
    for t in btf:
        if isinstance(t, DeclTag) and t.component_idx == -1:
            for prefix, key in ((HELP_TAG, "help"), (UNIT_TAG, "unit")):
                if t.name.startswith(prefix) and t.name[len(prefix):].strip():
                    tags.setdefault(t.type_id, {})[key] = t.name[len(prefix):].strip()
    return tags


def btf_map(btf: Btf, var: Var, section: str, symbol_offset: int, symbol_size: int,
            tags: dict[str, str] | None = None) -> MapSpec:
    """Read one BTF-defined map from its VAR (with its help text and unit from `tags`, see `map_tags`); raises
    ElfError when the definition is not a struct of pointers."""
    definition = btf.resolve(var.type_id)
    if not isinstance(definition, Struct):
        raise ElfError(f"map {var.name} in section {section} is declared as {btf.type_name(var.type_id)}, "
                       "not as a map definition struct")
    values: dict[str, int] = {}
    key_type = value_type = inner = None
    for m in definition.members:
        if m.name in ("type", "max_entries", "map_flags", "numa_node", "key_size", "value_size", "pinning",
                      "map_extra"):
            values[m.name] = _uint(btf, m.type_id, var.name, m.name)
        elif m.name == "key":
            key_type = _pointee(btf, m.type_id, var.name, m.name)
        elif m.name == "value":
            value_type = _pointee(btf, m.type_id, var.name, m.name)
        elif m.name == "values":  # __array(values, T): T *values[]
            array = btf.resolve(m.type_id)
            if isinstance(array, Array):
                inner_ptr = btf.resolve(array.type_id)
                inner = inner_ptr.type_id if isinstance(inner_ptr, Ptr) else array.type_id
    map_type = values.get("type", 0)
    key_size = _size(btf, key_type, var.name, "key") if key_type is not None else values.get("key_size", 0)
    value_size = (_size(btf, value_type, var.name, "value") if value_type is not None
                  else values.get("value_size", 0))
    spec = MapSpec(
        name=var.name, section=section, map_type=map_type, type_name=map_type_name(map_type),
        max_entries=values.get("max_entries", 0), key_size=key_size, value_size=value_size,
        key_type_id=key_type, value_type_id=value_type, map_flags=values.get("map_flags", 0),
        pinning=values.get("pinning", 0), numa_node=values.get("numa_node", 0),
        map_extra=values.get("map_extra", 0), inner_type_id=inner, var_type_id=var.id,
        def_type_id=definition.id, symbol_offset=symbol_offset, symbol_size=symbol_size,
        help=(tags or {}).get("help"), unit=(tags or {}).get("unit"),
    )
    return _with_output(spec)


def btf_maps_in(btf: Btf, datasec: Datasec, symbols: dict[str, tuple[int, int]]) -> list[MapSpec]:
    """The maps of one `.maps*` DATASEC; `symbols` maps names to (offset, size) in the ELF section."""
    maps = []
    tags = map_tags(btf)
    for entry in datasec.vars:
        var = btf.get(entry.type_id)
        if not isinstance(var, Var):
            raise ElfError(f"section {datasec.name} lists BTF type {entry.type_id} ({var.kind.label}), "
                           "which is not a variable")
        offset, size = symbols.get(var.name, (entry.offset, entry.size))
        maps.append(btf_map(btf, var, datasec.name, offset, size, tags.get(var.id)))
    return maps


_LEGACY_FIELDS = ("map_type", "key_size", "value_size", "max_entries", "map_flags")


def legacy_map(name: str, data: bytes, offset: int, size: int, endian: str) -> MapSpec:
    """Read a `struct bpf_map_def` (five u32: type, key_size, value_size, max_entries, map_flags)."""
    count = min(max(size, 0), len(data) - offset, 4 * len(_LEGACY_FIELDS)) // 4 if offset < len(data) else 0
    words = struct.unpack_from(f"{endian}{count}I", data, offset) if count else ()
    fields = dict(zip(_LEGACY_FIELDS[:len(words)], words, strict=True))
    map_type = fields.pop("map_type", 0)
    return MapSpec(name=name, section=LEGACY_MAPS_SECTION, map_type=map_type, type_name=map_type_name(map_type),
                   symbol_offset=offset, symbol_size=size, legacy=True, **fields)


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
