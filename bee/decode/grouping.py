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
`bee.libbpf.ringmem.RecordReader`), splitting and unpacking them with one `struct.iter_unpack`.
A key is the sample itself (a counter) or the bytes before and after the value's bytes (a histogram).

`compile_grouping` returns None when the events cannot be grouped so: a value that is not a number,
value bytes shared with a label field (a bitfield or union), or value reads that overlap each other.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Callable, Sequence
from operator import itemgetter

from bee.decode.codegen import Leaf, Namespace, Read, _layers, batch_loop, record_stride
from bee.records import Record

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
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


def _counting(size: int, byte_order: str) -> Grouping:
    """Counts of identical samples (every byte of a counter's event is a label or padding)."""
    stride = record_stride(size)
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

    return Grouping(size, samples, records if size else None, lambda key: key)


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
    if len(_layers(list(value.reads))) != 1:
        return None
    # the key: the bytes before and after the value's, read as `s` items of the same loop's struct
    key_reads = [Read(0, f"{start}s")] if start else []
    key_reads += [Read(end, f"{size - end}s")] if end < size else []
    loops = [batch_loop([*key_reads, *value.reads], size=size, byte_order=byte_order, namespace=namespace,
                        records=records) for records in (False, True)]
    samples_loop, records_loop = loops
    assert samples_loop is not None  # the samples' loop takes any reads
    variables = samples_loop[1]
    key = (f"({variables[key_reads[0]] if start else repr(b'')}, "
           f"{variables[key_reads[-1]] if end < size else repr(b'')})")
    expr = value.expr.format(*(variables[read] for read in value.reads))
    body = ["        values = get(key)",
            "        if values is None:",
            "            values = groups[key] = []",
            f"        values.append({expr})"]
    source = "\n".join([
        "def samples(samples):",
        "    groups = {}",
        "    get = groups.get",
        *samples_loop[0],
        f"        key = {key}",
        *body,
        "    return groups, short",
        "",
    ] + ([] if records_loop is None else [
        "def records(region):",
        "    groups = {}",
        "    get = groups.get",
        *records_loop[0],
        f"        key = {key}",
        *body,
        "    return groups, sum(map(len, groups.values()))",
        "",
    ]))
    scope = dict(namespace.values)
    exec(compile(source, f"<event groups of {what}>", "exec"), scope)  # noqa: S102 (built above from BTF)
    filler = bytes(end - start)

    def sample_of(key: tuple[bytes, bytes]) -> bytes:
        return key[0] + filler + key[1]

    return Grouping(size, scope["samples"], scope.get("records") if size else None, sample_of)
