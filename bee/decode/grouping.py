"""Events grouped by their labels in one pass per batch: what `counter_` and `hist_` ring buffers need.

A metric output only needs, per batch, how many events each distinct label set had (a counter) or
the observed values of each (a histogram). So the events are not decoded one by one: a batch is
split into groups keyed by the raw bytes of the label fields (`key`), with the values of the
histogram's field in event order, and only one event per distinct key is decoded for its labels
(`Grouping.sample_of(key)` rebuilds a sample that decodes to them). The histogram's value is
computed per event by its own expression (the decoder's), so a batch gives the same values, in the
same order, as decoding each event would.

`Grouping.samples(samples)` takes samples as libbpf copies them; `Grouping.records(region)` takes
ring-buffer records read in place (an 8-byte header, then the sample padded to 8 bytes; see
`bee.libbpf.ringbuf.RecordReader`), splitting and unpacking them with one `struct.iter_unpack`.
A key is the sample itself (a counter) or the bytes before and after the value's bytes (a histogram).

`compile_grouping` returns None when the events cannot be grouped so: a value that is not a number,
value bytes shared with a label field (a bitfield or union), or value reads that overlap each other.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Callable, Sequence
from operator import itemgetter

from bee.decode.codegen import Leaf, Namespace, Read, _format, _layers
from bee.records import Record

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/startup.md)
if TYPE_CHECKING:
    from typing import Any

    #: samples → ({key: count or [values]}, samples too short to decode)
    SampleGroups = Callable[[list[bytes]], tuple[dict[Any, Any], int]]
    #: region of records → ({key: count or [values]}, records read); stops at the first record of another length
    RecordGroups = Callable[[memoryview], tuple[dict[Any, Any], int]]

#: value kinds a histogram can observe (a bool counts as 0 or 1, as `observe` takes it)
NUMERIC_KINDS = ("int", "float", "bool")


class Grouping(Record):
    """How to group the events of one type; see the module docstring. `records` is None when the
    type's sample size is 0 (nothing to read in place)."""

    size: int
    samples: SampleGroups
    records: RecordGroups | None
    sample_of: Callable[[Any], bytes]
    counts: bool  # True: groups hold counts (a counter); False: lists of values (a histogram)


def _record_stride(size: int) -> int:
    return (size + 8 + 7) & ~7


def _counting(size: int, byte_order: str) -> Grouping:
    """Counts of identical samples (every byte of a counter's event is a label or padding)."""
    stride = _record_stride(size)
    words = stride // 4  # the header of record i is 32-bit word i * words of the region
    split = struct.Struct(f"{byte_order}8x{size}s{stride - 8 - size}x").iter_unpack
    first = itemgetter(0)

    def samples(batch: list[bytes]) -> tuple[dict[Any, Any], int]:
        lengths = set(map(len, batch))
        if lengths == {size}:  # the usual case: every sample exactly the struct (one C-level pass)
            return Counter(batch), 0
        counts: Counter[bytes] = Counter(data[:size] for data in batch if len(data) >= size)
        return counts, sum(1 for data in batch if len(data) < size)

    def records(region: memoryview) -> tuple[dict[Any, Any], int]:
        headers = region.cast("I")[::words].tolist()
        n = len(headers)
        if headers.count(size) != n:  # stop at the first record of another length (or busy, discarded)
            n = next(i for i, header in enumerate(headers) if header != size)
        return Counter(map(first, split(region[:n * stride]))), n

    return Grouping(size, samples, records if size else None, lambda key: key, True)


def compile_grouping(leaves: Sequence[Leaf], *, value_field: str | None, endian: str, size: int,
                     namespace: Namespace, what: str) -> Grouping | None:
    """The grouping of events of `leaves` (`size` bytes in `endian` order) by every field but
    `value_field` (None: by every field, counting); None when they cannot be grouped (module docstring)."""
    byte_order = "<" if endian == "little" else ">"
    if value_field is None:
        return _counting(size, byte_order)
    value = next((leaf for leaf in leaves if leaf.name == value_field), None)
    if value is None or value.kind not in NUMERIC_KINDS or not value.reads:
        return None
    start = min(read.offset for read in value.reads)
    end = max(read.offset + read.size for read in value.reads)
    if end > size or any(read.offset < end and read.offset + read.size > start
                         for leaf in leaves if leaf is not value for read in leaf.reads):
        return None  # value bytes shared with a label (bitfield storage, a union): not separable
    reads = sorted(set(value.reads), key=lambda r: r.offset)
    layers = _layers(reads)
    if len(layers) != 1:
        return None
    variables = {read: f"r{i}" for i, read in enumerate(layers[0])}
    relative = [Read(read.offset - start, read.code) for read in layers[0]]
    value_format = _format(relative, "")
    gap = end - start - struct.calcsize(byte_order + value_format)
    inner = f"{value_format}{gap}x" if gap else value_format
    expr = value.expr.format(*(variables[read] for read in value.reads))
    names = "".join(f"{variables[read]}, " for read in layers[0])
    stride = _record_stride(size)
    record_split = struct.Struct(f"{byte_order}4s4x{start}s{inner}{size - end}s{stride - 8 - size}x")
    value_unpack = struct.Struct(byte_order + inner).unpack_from
    source = "\n".join([
        "def samples(batch):",
        "    groups = {}",
        "    get = groups.get",
        "    short = 0",
        "    for data in batch:",
        f"        if len(data) < {size}:",
        "            short += 1",
        "            continue",
        f"        {names}= _value(data, {start})",
        f"        key = (data[:{start}], data[{end}:{size}])",
        "        values = get(key)",
        "        if values is None:",
        "            values = groups[key] = []",
        f"        values.append({expr})",
        "    return groups, short",
        "",
        "def records(region):",
        "    groups = {}",
        "    get = groups.get",
        "    n = 0",
        f"    for length, before, {names}after in _split(region):",
        "        if length != _header:",
        "            break",
        "        n += 1",
        "        key = (before, after)",
        "        values = get(key)",
        "        if values is None:",
        "            values = groups[key] = []",
        f"        values.append({expr})",
        "    return groups, n",
        "",
    ])
    # the header's length is in the host's order whatever the event's: compared as bytes
    header = struct.pack("=I", size)
    scope = dict(namespace.values, _value=value_unpack, _split=record_split.iter_unpack, _header=header)
    exec(compile(source, f"<event groups of {what}>", "exec"), scope)  # noqa: S102 (built above from BTF)
    filler = bytes(end - start)

    def sample_of(key: tuple[bytes, bytes]) -> bytes:
        return key[0] + filler + key[1]

    return Grouping(size, scope["samples"], scope["records"] if size else None, sample_of, False)
