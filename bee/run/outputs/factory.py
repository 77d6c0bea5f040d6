"""The output of every tracked map of a program, made by one table keyed by (map type, output kind).

No kernel is needed: outputs are made while the object loads. Each maker compiles the map's
decoders from the object's BTF and wires the output to the run's `Sinks` (metrics registry, event
log, filters, interactive view); a pairing without a maker never reaches here (`bee.elf.maps`
marks it unsupported, so it is not tracked, and the run says so in a notice).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from bee.elf.btf import Btf
from bee.elf.maps import POLLED_MAP_TYPES, MapSpec, map_type_name
from bee.elf.spec import ObjectSpec
from bee.records import Record
from bee.run.errors import RunError, RunSetupError
from bee.run.outputs.decoders import (
    RecordDecoder,
    ShowEntries,
    ShowEvents,
    hash_value_format,
    key_decoder,
    record_decoder,
)
from bee.run.outputs.hashmap import HashCounter, HashGauge, HashHistogram, HashOutput, HashPrint
from bee.run.outputs.ring import RingCounter, RingHistogram, RingOutput, RingPrint
from bee.run.outputs.values import IntValue
from bee.sinks.eventlog import EventLog
from bee.sinks.filters import FilterSet
from bee.sinks.metrics import MetricsRegistry, ProgramMetrics

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from bee.decode.stacks import KernelStacks
    from bee.tui.model import TuiModel


class Sinks(Record):
    """Where outputs send what they read: one registry, event log, filters and view per run, shared by all
    its programs; `program` names the program of a run of several whose outputs these sinks make (its
    metric series get label `program`, its event lines say it), None in a run of one."""

    registry: MetricsRegistry
    event_log: EventLog | None  # None under the interactive view
    filters: FilterSet
    view: TuiModel | None = None  # the interactive view's model: each map's table is that of `program`'s map
    hist_buckets: Mapping[str, tuple[float, ...]] = MappingProxyType({})
    hist_value_keys: Mapping[str, str] = MappingProxyType({})
    program: str | None = None

    @property
    def metrics(self) -> ProgramMetrics:
        """The registry as this program writes to it."""
        return ProgramMetrics(self.registry, self.program)


class ProgramOutputs:
    """The outputs of one program: ring-buffer outputs by map name, hash outputs with their map's name."""

    __slots__ = ("ring", "hash", "stacks")

    def __init__(self, stacks: KernelStacks | None = None) -> None:
        self.ring: dict[str, RingOutput] = {}
        self.hash: list[tuple[str, HashOutput]] = []
        self.stacks = stacks  # names the `kstack_t` ids of its records once bound to the loaded stack map

    def fields(self) -> dict[str, tuple[str, ...]]:
        """Map name → the fields its records have (what filters may name)."""
        fields = {name: out.decoder.fields for name, out in self.ring.items()}
        fields.update((name, (*out.key.fields, "value")) for name, out in self.hash)
        return fields

    def histograms(self) -> tuple[str, ...]:
        """The maps whose events feed a histogram (`hist_` ring buffers): what -b and -k may name."""
        return tuple(name for name, out in self.ring.items() if isinstance(out, RingHistogram))


def _event_decoder(m: MapSpec, btf: Btf, endian: str, stacks: KernelStacks | None) -> RecordDecoder:
    if not m.value_type_id:
        raise RunSetupError(f"map {m.name}: declare its event type with __type(value, struct ...)")
    return record_decoder(btf, m.value_type_id, "value", endian, stacks)


def _show_events(sinks: Sinks, m: MapSpec, decoder: RecordDecoder) -> ShowEvents | None:
    if sinks.view is None:
        return None
    return sinks.view.table(m.name, sinks.program).show_events(decoder.fields)


def _ring_print(m: MapSpec, btf: Btf, endian: str, sinks: Sinks, stacks: KernelStacks | None) -> RingOutput:
    decoder = _event_decoder(m, btf, endian, stacks)
    return RingPrint(m, decoder, sinks.metrics, sinks.event_log, sinks.filters, _show_events(sinks, m, decoder),
                     sinks.program)


def _ring_counter(m: MapSpec, btf: Btf, endian: str, sinks: Sinks, stacks: KernelStacks | None) -> RingOutput:
    decoder = _event_decoder(m, btf, endian, stacks)
    return RingCounter(m, decoder, sinks.metrics, _show_events(sinks, m, decoder))


def _ring_histogram(m: MapSpec, btf: Btf, endian: str, sinks: Sinks, stacks: KernelStacks | None) -> RingOutput:
    decoder = _event_decoder(m, btf, endian, stacks)
    show = _show_events(sinks, m, decoder)
    return RingHistogram(m, decoder, sinks.metrics, sinks.hist_value_keys.get(m.name, "le"),
                         sinks.hist_buckets.get(m.name), show)


def _shows(m: MapSpec, key: RecordDecoder, sinks: Sinks) -> ShowEntries | None:
    view = sinks.view
    return view.table(m.name, sinks.program).show_entries((*key.fields, "value")) if view is not None else None


def _hash_parts(m: MapSpec, spec: ObjectSpec, sinks: Sinks,
                stacks: KernelStacks | None) -> tuple[RecordDecoder, IntValue, ShowEntries | None]:
    assert spec.btf is not None
    key = key_decoder(m, spec.btf, spec.endian, stacks)
    value = IntValue(hash_value_format(m, spec.btf, spec.endian))
    return key, value, _shows(m, key, sinks)


def _hash_counter(m: MapSpec, spec: ObjectSpec, sinks: Sinks, rodata: bytes | None,
                stacks: KernelStacks | None) -> HashOutput:
    key, value, shows = _hash_parts(m, spec, sinks, stacks)
    return HashCounter(m, key, value, sinks.metrics, shows)


def _hash_gauge(m: MapSpec, spec: ObjectSpec, sinks: Sinks, rodata: bytes | None,
                stacks: KernelStacks | None) -> HashOutput:
    key, value, shows = _hash_parts(m, spec, sinks, stacks)
    return HashGauge(m, key, value, sinks.metrics, shows)


def _hash_print(m: MapSpec, spec: ObjectSpec, sinks: Sinks, rodata: bytes | None,
                stacks: KernelStacks | None) -> HashOutput:
    key, value, shows = _hash_parts(m, spec, sinks, stacks)
    return HashPrint(m, key, value, sinks.event_log, sinks.filters, shows, sinks.program)


def _hash_histogram(m: MapSpec, spec: ObjectSpec, sinks: Sinks, rodata: bytes | None,
                    stacks: KernelStacks | None) -> HashOutput:
    """A `log2hist_`/`linhist_` map: its layout (a linear one's width and start from `rodata`, the `.rodata`
    the run's parameters give, or the object's) is read here, where a mistake fails this program only."""
    from bee.elf.histograms import histogram_layout
    from bee.errors import ElfError
    from bee.run.outputs.values import SlotsValue
    from bee.sinks.families import slot_histogram_help

    assert spec.btf is not None
    if m.name in sinks.hist_buckets or m.name in sinks.hist_value_keys:
        raise RunSetupError(f"map {m.name} is a histogram its program counts in the kernel: its buckets are the "
                            "program's slots, so -b/--hist-buckets and -k/--hist-value-key do not apply to it")
    try:
        layout = histogram_layout(spec, m, rodata)
    except ElfError as exc:
        raise RunSetupError(exc.message) from None
    key = key_decoder(m, spec.btf, spec.endian, stacks)
    help = slot_histogram_help(m.name, m.type_name, layout.kind, layout.has_sum)
    family = sinks.metrics.slot_histogram(m.name, key.fields, layout.bounds, help=help, has_sum=layout.has_sum)
    return HashHistogram(m, key, SlotsValue(layout, spec.endian), family, _shows(m, key, sinks))


RingMaker = Callable[[MapSpec, Btf, str, Sinks, "KernelStacks | None"], RingOutput]
HashMaker = Callable[[MapSpec, ObjectSpec, Sinks, "bytes | None", "KernelStacks | None"], HashOutput]

#: (map type name, output kind) → maker; the pairings `bee.elf.maps.SUPPORTED_OUTPUTS` allows.
RING_MAKERS: dict[tuple[str, str], RingMaker] = {
    ("ringbuf", "print"): _ring_print,
    ("ringbuf", "counter"): _ring_counter,
    ("ringbuf", "hist"): _ring_histogram,
}
_POLLED_MAKERS: dict[str, HashMaker] = {
    "print": _hash_print,
    "counter": _hash_counter,
    "gauge": _hash_gauge,
    "log2hist": _hash_histogram,
    "linhist": _hash_histogram,
}
#: The same for every polled map type (hash and array kinds, plain, LRU and per-CPU).
HASH_MAKERS: dict[tuple[str, str], HashMaker] = {
    (map_type_name(map_type), output): maker
    for map_type in sorted(POLLED_MAP_TYPES) for output, maker in _POLLED_MAKERS.items()
}


def make_outputs(spec: ObjectSpec, sinks: Sinks, rodata: bytes | None = None) -> ProgramOutputs:
    """One output per tracked map of `spec`, in map order; `rodata`: the `.rodata` bytes the run's parameters
    give (a linear histogram's width and start may be among them). Raises RunError when the object has no
    BTF to decode with, RunSetupError when a map's declaration does not fit its output, DecodeError for a
    `kstack_t` in a program without exactly one stack-trace map (its ids would name nothing)."""
    stack_maps = tuple(m.name for m in spec.maps if m.type_name == "stack_trace")
    outputs = ProgramOutputs(_kernel_stacks(stack_maps, spec.endian) if stack_maps else None)
    stacks = outputs.stacks
    for m in spec.tracked_maps:
        if spec.btf is None:
            raise RunError(f"map {m.name}: the object has no BTF, so its records cannot be decoded")
        kind = (m.type_name, m.output or "")
        if kind in RING_MAKERS:
            outputs.ring[m.name] = RING_MAKERS[kind](m, spec.btf, spec.endian, sinks, stacks)
        elif kind in HASH_MAKERS:
            output = HASH_MAKERS[kind](m, spec, sinks, rodata, stacks)
            output.error_labels = (m.name, *(() if sinks.program is None else (sinks.program,)))
            outputs.hash.append((m.name, output))
        else:  # bee.elf.maps and this table disagree: a bug, said plainly
            raise RunError(f"map {m.name}: no output is made for a {m.type_name} map of kind {m.output}")
    return outputs


def _kernel_stacks(stack_maps: tuple[str, ...], endian: str) -> KernelStacks:
    """The stacks of a program with a stack-trace map (imported here: most programs have none)."""
    from bee.decode.stacks import KernelStacks

    return KernelStacks(stack_maps, endian)
