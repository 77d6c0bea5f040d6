"""Histograms a BPF program keeps in the kernel (`log2hist_` and `linhist_` maps): the layout of the
map's value, the bucket bound of each slot, and where a linear histogram's width and start come from.

No kernel: everything is read from the object's BTF and its data sections (`histogram_layout`).

A value is an array of integer counts, one per slot (`u64 slots[N]`, or a typedef of an integer
such as `gadget_histogram_slot__u64`), or a struct of exactly one such array and, optionally, an
integer member named `sum`: the sum of the values the program counted, in their unit.

Bounds (Prometheus `le`, inclusive; the values counted are integers):

- log2: slot i counts the values v with floor(log2(v)) = i (v = 0 goes to slot 0), that is
  2^i <= v <= 2^(i+1) - 1, so its bound is le = 2^(i+1) - 1: 1, 3, 7, 15, ...
- linear: slot i counts start + i*width <= v <= start + (i+1)*width - 1 (values below `start` go to
  slot 0), so le = start + (i+1)*width - 1.
- the last slot of either has no finite bound: programs put there what does not fit (they clamp the
  slot index), so it is counted in `+Inf` only.

A linear map `linhist_X` declares its width, and its start if not 0, as parameters (`bee.elf.variables`)
the program itself reads when it computes a slot, so that the program and bee cannot disagree:
`const volatile u64 linhist_X_width = 10;` and `const volatile s64 linhist_X_start = 100;`. A run
that sets them (`--param linhist_X_width=5`) hands its `.rodata` bytes to `histogram_layout`.
"""

from __future__ import annotations

from bee.elf.btf import Btf
from bee.elf.btf_types import Array, Int, Struct
from bee.elf.maps import MapSpec
from bee.errors import ElfError
from bee.records import Record

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from bee.elf.spec import ObjectSpec

LOG2, LINEAR = "log2", "linear"
#: Histogram kind of each output.
KINDS = {"log2hist": LOG2, "linhist": LINEAR}
SUM_MEMBER = "sum"
WIDTH_SUFFIX, START_SUFFIX = "_width", "_start"


class HistogramLayout(Record):
    """Where the counts (and the sum) lie in one value of a histogram map, and what each slot counts.

    `slot_offset` and `sum_offset` are byte offsets within the value; `sum_offset` is None when the
    value keeps no sum. `start` and `width` matter for linear histograms only."""

    kind: str  # LOG2 or LINEAR
    slots: int
    slot_offset: int
    slot_size: int  # bytes of one count
    slot_signed: bool
    sum_offset: int | None = None
    sum_size: int = 0
    sum_signed: bool = False
    start: int = 0
    width: int = 1

    @property
    def bounds(self) -> tuple[int, ...]:
        """The finite upper bound (`le`) of every slot but the last, which is counted in +Inf only."""
        if self.kind == LOG2:
            return log2_bounds(self.slots)
        return linear_bounds(self.slots, self.start, self.width)

    @property
    def has_sum(self) -> bool:
        return self.sum_offset is not None

    def summary(self) -> str:
        """One phrase for `bee describe`: `log2, 27 slots (le 1, 3, 7, ..., 33554431, +Inf), with sum`."""
        bounds = [str(b) for b in self.bounds]
        shown = bounds if len(bounds) <= 6 else [*bounds[:3], "...", *bounds[-1:]]
        what = f"{self.kind}, {self.slots} slot{'s' if self.slots != 1 else ''}"
        if self.kind == LINEAR:
            what += f" of width {self.width} from {self.start}"
        return f"{what} (le {', '.join([*shown, '+Inf'])}), {'with' if self.has_sum else 'no'} sum"


def log2_bounds(slots: int) -> tuple[int, ...]:
    """Bounds of slots 0 .. slots-2 of a log2 histogram: 2^(i+1) - 1."""
    return tuple((1 << (i + 1)) - 1 for i in range(slots - 1))


def linear_bounds(slots: int, start: int, width: int) -> tuple[int, ...]:
    """Bounds of slots 0 .. slots-2 of a linear histogram: start + (i+1)*width - 1 (ValueError for width < 1)."""
    if width < 1:
        raise ValueError(f"a linear histogram's width must be at least 1, not {width}")
    return tuple(start + (i + 1) * width - 1 for i in range(slots - 1))


def _counts(btf: Btf, type_id: int) -> tuple[int, Int] | None:
    """(number of slots, count type) when `type_id` is an array of integers."""
    array = btf.resolve(type_id)
    if not isinstance(array, Array):
        return None
    element = btf.resolve(array.type_id)
    if not isinstance(element, Int) or element.size not in (1, 2, 4, 8) or element.bits != 8 * element.size:
        return None
    return array.nelems, element


def _shape_error(m: MapSpec, btf: Btf, type_id: int, detail: str = "") -> ElfError:
    return ElfError(f"map {m.name}: a {m.output}_ map's value is an array of integer counts (u64 slots[N]) or a "
                    f"struct of one such array and an optional integer `{SUM_MEMBER}`, not "
                    f"{btf.type_name(type_id)}{detail}")


def value_layout(m: MapSpec, btf: Btf) -> HistogramLayout:
    """The layout of histogram map `m`'s value (start 0, width 1); ElfError when it is not one."""
    kind = KINDS[m.output or ""]
    type_id = m.value_type_id
    if not type_id:
        raise ElfError(f"map {m.name}: declare its value type with __type(value, ...), an array of counts")
    counts = _counts(btf, type_id)
    if counts is not None:
        slots, element = counts
        return _checked(m, HistogramLayout(kind, slots, 0, element.size, element.signed))
    struct = btf.resolve(type_id)
    if not isinstance(struct, Struct):
        raise _shape_error(m, btf, type_id)
    layout: HistogramLayout | None = None
    total: tuple[int, Int] | None = None
    for member in struct.members:
        if member.bit_offset % 8 or member.bitfield_size:
            raise _shape_error(m, btf, type_id, f" (member {member.name or '(anonymous)'} is a bitfield)")
        member_counts = _counts(btf, member.type_id)
        target = btf.resolve(member.type_id)
        if member.name == SUM_MEMBER and isinstance(target, Int):
            total = (member.bit_offset // 8, target)
        elif member_counts is not None and layout is None:
            slots, element = member_counts
            layout = HistogramLayout(kind, slots, member.bit_offset // 8, element.size, element.signed)
        else:
            raise _shape_error(m, btf, type_id, f" (member {member.name or '(anonymous)'} is neither the "
                                                f"array of counts nor `{SUM_MEMBER}`)")
    if layout is None:
        raise _shape_error(m, btf, type_id, " (it has no array of counts)")
    if total is not None:
        offset, sum_type = total
        layout = layout.replace(sum_offset=offset, sum_size=sum_type.size, sum_signed=sum_type.signed)
    return _checked(m, layout)


MAX_SLOTS = 4096  # slots bee exports per histogram (each is a bucket series of every label set)


def _checked(m: MapSpec, layout: HistogramLayout) -> HistogramLayout:
    if layout.slots < 1:
        raise ElfError(f"map {m.name}: its array of counts has no slots")
    if layout.slots > MAX_SLOTS:
        raise ElfError(f"map {m.name}: its array of counts has {layout.slots} slots, more than the {MAX_SLOTS} "
                       "bee exports (each slot is a bucket series); use fewer, wider slots")
    return layout


def parameter_value(spec: ObjectSpec, name: str, rodata: bytes | None = None) -> int | None:
    """The value of the integer parameter `name` (a `const volatile` global of `.rodata`) in `rodata`, the
    bytes a run gives `.rodata`, or else in the object's own; None when the object has no such parameter.
    ElfError when it is not an integer."""
    from bee.elf.variables import parameters

    found = parameters(spec)
    parameter = found.get(name) if found is not None else None
    if found is None or parameter is None or spec.btf is None:
        return None
    target = spec.btf.resolve(parameter.type_id)
    if not isinstance(target, Int) or target.size != parameter.size or target.size not in (1, 2, 4, 8):
        raise ElfError(f"parameter {name} must be an integer, not {parameter.type_name}")
    image = rodata if rodata is not None else found.image
    raw = image[parameter.offset:parameter.offset + parameter.size]
    return int.from_bytes(raw, "little" if found.endian == "little" else "big", signed=target.signed)


def histogram_layout(spec: ObjectSpec, m: MapSpec, rodata: bytes | None = None) -> HistogramLayout:
    """The layout of `log2hist_`/`linhist_` map `m` of `spec`, with a linear map's width and start read from
    its parameters `<map>_width` (required, at least 1) and `<map>_start` (default 0), in `rodata` (the
    `.rodata` bytes a run's parameters give) or else as the object declares them. Raises ElfError, one
    sentence naming the map, when the value is not an array of counts or the width is missing or wrong."""
    if spec.btf is None:
        raise ElfError(f"map {m.name}: the object has no BTF, so the layout of its histogram is unknown")
    layout = value_layout(m, spec.btf)
    if layout.kind != LINEAR:
        return layout
    width = parameter_value(spec, m.name + WIDTH_SUFFIX, rodata)
    if width is None:
        raise ElfError(f"map {m.name}: declare its slot width as a parameter the program reads, "
                       f"const volatile u64 {m.name}{WIDTH_SUFFIX} = N;")
    if width < 1:
        raise ElfError(f"map {m.name}: its slot width {m.name}{WIDTH_SUFFIX} is {width}; it must be at least 1")
    start = parameter_value(spec, m.name + START_SUFFIX, rodata) or 0
    return layout.replace(start=start, width=width)
