"""Decoders of tracked maps: BTF type → `RecordDecoder` (one compiled decoder per map, never per event)."""

from __future__ import annotations

import struct
from collections.abc import Callable

from bee.elf.btf import Btf
from bee.elf.maps import MapSpec
from bee.records import Record as RecordBase
from bee.run.errors import RunSetupError
from bee.sinks.families import label_value

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from typing import Any

    from bee.decode.stacks import KernelStacks

Record = dict[str, "Any"]
ShowEvents = Callable[[list[Record]], None]  # a batch of decoded events, oldest first
ShowEntries = Callable[[list[Record]], None]


class RecordDecoder(RecordBase):
    """Decodes one key or event into a record; a scalar type gives `{fallback_name: value}`."""

    fields: tuple[str, ...]
    size: int
    decode: Callable[[bytes], Record]
    kinds: tuple[str, ...] = ()  # per field: the type its value always has, or `any`
    compile_rows: Callable[..., Any] | None = None  # see Decoder.compile_rows
    compile_records: Callable[..., Any] | None = None  # see Decoder.compile_records
    compile_grouping: Callable[[str | None], Any] | None = None  # see Decoder.compile_grouping
    compile_batch: Callable[[bool], Any] | None = None  # see Decoder.compile_batch
    stable: bool = True  # see Decoder.stable


def record_decoder(btf: Btf, type_id: int, fallback_name: str, endian: str,
                   stacks: KernelStacks | None = None) -> RecordDecoder:
    """Compile the decoder of BTF type `type_id` (a struct gives one field per leaf member); `stacks` names
    its `kstack_t` ids."""
    from bee.decode import compile_decoder

    decoder = compile_decoder(btf, type_id, endian=endian, stacks=stacks)
    if decoder.scalar:
        scalar = decoder.decode_scalar
        same = decoder.fields == (fallback_name,)
        return RecordDecoder((fallback_name,), decoder.size, lambda data: {fallback_name: scalar(data)},
                             decoder.kinds, decoder.compile_rows if same else None,
                             decoder.compile_records if same else None, decoder.compile_grouping if same else None,
                             decoder.compile_batch if same else None, decoder.stable)
    return RecordDecoder(tuple(decoder.fields), decoder.size, decoder.decode, decoder.kinds, decoder.compile_rows,
                         decoder.compile_records, decoder.compile_grouping, decoder.compile_batch, decoder.stable)


def labels_of(record: Record, names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(label_value(record[name]) for name in names)


_VALUE_FORMATS = {1: "B", 2: "H", 4: "I", 8: "Q"}
#: The label of an array's index when its key is a plain integer.
INDEX_FIELD = "index"


def hash_value_format(spec: MapSpec, btf: Btf, endian: str) -> struct.Struct:
    """The unpacker of a polled map's integer value; RunSetupError when the value is not an integer."""
    from bee.elf.btf_types import Int, IntEncoding

    resolved = btf.resolve(spec.value_type_id) if spec.value_type_id else None
    if not isinstance(resolved, Int) or spec.value_size not in _VALUE_FORMATS:
        raise RunSetupError(f"map {spec.name}: a {spec.output} {spec.type_name} map needs an integer value (u64), "
                            f"not {btf.type_name(spec.value_type_id) if spec.value_type_id else 'an untyped value'}")
    code = _VALUE_FORMATS[spec.value_size]
    if resolved.encoding & IntEncoding.SIGNED:
        code = code.lower()
    return struct.Struct(("<" if endian == "little" else ">") + code)


def key_decoder(spec: MapSpec, btf: Btf, endian: str, stacks: KernelStacks | None = None) -> RecordDecoder:
    """The decoder of a polled map's keys: a struct's fields, or one field named `key` for an integer key
    (`index` for an array's); an array of one entry has no key field at all. RunSetupError for a map
    without a key type (an array of one entry needs none)."""
    if spec.is_array and spec.max_entries == 1:
        return RecordDecoder((), spec.key_size, lambda data: {})
    if not spec.key_type_id:
        raise RunSetupError(f"map {spec.name}: declare its key type with __type(key, "
                            f"{'u32' if spec.is_array else 'struct ...'})")
    return record_decoder(btf, spec.key_type_id, INDEX_FIELD if spec.is_array else "key", endian, stacks)
