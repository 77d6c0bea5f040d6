"""The value of one entry of a polled map (hash or array kinds), read from its bytes: an integer
(`IntValue`: `print_`, `counter_`, `gauge_` maps) or a histogram's counts (`SlotsValue`: `log2hist_`,
`linhist_` maps). Pure code: no kernel, no libbpf.

Per-CPU maps give one value per possible CPU (`bee.libbpf.map.Map.per_cpu_items`); `per_cpu()` sums
them. Integers are summed modulo their width, as the C type would hold the total: a gauge a program
raises on one CPU and lowers on another (a u64 at 1 on CPU 0 and at 2^64 - 1 on CPU 1) sums to 0,
and a signed type gives a signed total. Counts and sums of histograms are summed the same way.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

from bee.records import Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from bee.elf.histograms import HistogramLayout

_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}


def wrap(total: int, bits: int, signed: bool) -> int:
    """`total` as a `bits`-wide integer holds it: modulo 2^bits, then two's complement when `signed`."""
    total &= (1 << bits) - 1
    if signed and total >> (bits - 1):
        total -= 1 << bits
    return total


def sum_wrapped(values: Iterable[int], bits: int, signed: bool) -> int:
    """The sum of `values` (one per CPU) as a `bits`-wide, `signed` or unsigned integer holds it."""
    return wrap(sum(values), bits, signed)


def sum_columns(rows: Sequence[Sequence[int]], bits: int, signed: bool) -> tuple[int, ...]:
    """Element-wise sums of equally long `rows` (one per CPU), each wrapped like `sum_wrapped`."""
    return tuple(wrap(sum(column), bits, signed) for column in zip(*rows, strict=True))


def int_format(size: int, signed: bool, endian: str) -> struct.Struct:
    """The `struct` format of one integer of `size` bytes (1, 2, 4 or 8); `endian` is `little` or `big`."""
    code = _CODES[size]
    return struct.Struct(("<" if endian == "little" else ">") + (code.lower() if signed else code))


class IntValue:
    """One integer per entry, at the start of the value."""

    def __init__(self, fmt: struct.Struct) -> None:
        self.fmt = fmt
        self.size = fmt.size
        self.bits = 8 * fmt.size
        self.signed = fmt.format[-1].islower()

    def one(self, data: bytes) -> int | None:
        """The value in `data`, or None when `data` is shorter than the integer."""
        return self.fmt.unpack_from(data)[0] if len(data) >= self.size else None

    def per_cpu(self, values: Sequence[bytes]) -> int | None:
        """The sum of the per-CPU `values`, or None when one is too short."""
        if any(len(v) < self.size for v in values):
            return None
        unpack = self.fmt.unpack_from
        return sum_wrapped((unpack(v)[0] for v in values), self.bits, self.signed)

    @staticmethod
    def is_zero(value: int) -> bool:
        return value == 0

    @staticmethod
    def shown(value: int) -> int:
        """What the interactive view shows as the entry's value."""
        return value


class Counts(Record):
    """A histogram's counts, one per slot (the last one counted in +Inf only), and its sum if the map keeps one."""

    slots: tuple[int, ...]
    total: int | None = None

    @property
    def count(self) -> int:
        return sum(self.slots)


class SlotsValue:
    """A histogram's counts (and sum) in each value, laid out as `HistogramLayout` says."""

    def __init__(self, layout: HistogramLayout, endian: str) -> None:
        order = "<" if endian == "little" else ">"
        code = _CODES[layout.slot_size]
        self.slots = struct.Struct(f"{order}{layout.slots}{code.lower() if layout.slot_signed else code}")
        self.slot_offset = layout.slot_offset
        self.slot_bits, self.slot_signed = 8 * layout.slot_size, layout.slot_signed
        self.sum = int_format(layout.sum_size, layout.sum_signed, endian) if layout.sum_offset is not None else None
        self.sum_offset = layout.sum_offset or 0
        self.size = max(layout.slot_offset + self.slots.size,
                        self.sum_offset + (self.sum.size if self.sum is not None else 0))

    def one(self, data: bytes) -> Counts | None:
        """The counts in `data`, or None when `data` is shorter than the value."""
        if len(data) < self.size:
            return None
        slots = self.slots.unpack_from(data, self.slot_offset)
        total = self.sum.unpack_from(data, self.sum_offset)[0] if self.sum is not None else None
        return Counts(slots, total)

    def per_cpu(self, values: Sequence[bytes]) -> Counts | None:
        """The per-CPU counts of `values` summed slot by slot (and the sums summed), or None when one is too short."""
        each = [self.one(v) for v in values]
        if not each or any(c is None for c in each):
            return None
        counts: list[Counts] = each  # type: ignore[assignment]  # no None left
        slots = sum_columns([c.slots for c in counts], self.slot_bits, self.slot_signed)
        total = None
        if self.sum is not None:
            total = sum_wrapped((c.total or 0 for c in counts), 8 * self.sum.size, self.sum.format[-1].islower())
        return Counts(slots, total)

    @staticmethod
    def is_zero(value: Counts) -> bool:
        return not any(value.slots) and not value.total

    @staticmethod
    def shown(value: Counts) -> int:
        """What the interactive view shows as the entry's value: how many values were counted."""
        return value.count
