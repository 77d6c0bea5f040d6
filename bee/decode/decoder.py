"""`compile_decoder`: one BTF type → a `Decoder` whose `decode(bytes)` gives presentation values."""

from __future__ import annotations

from collections.abc import Callable

from bee.decode.codegen import (
    DecodeRecords,
    DecodeSamples,
    Generated,
    Guard,
    Leaf,
    Records,
    Rows,
    generate,
    generate_batch_decode,
    generate_records,
    generate_rows,
)
from bee.decode.errors import DecodeError
from bee.decode.grouping import Grouping, compile_grouping
from bee.decode.layout import LayoutCompiler
from bee.decode.values import Value
from bee.elf.btf import Btf
from bee.elf.btf_types import Composite
from bee.records import Record  # not dataclasses: ~8 ms + 0.7 ms a class of bee run (docs/dev/startup.md)

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import Any, ClassVar

    from bee.decode.stacks import KernelStacks

#: The one field name of a decoder for a non-struct type (a `u64` map value, a `u32` key).
SCALAR_FIELD = "value"

Buffer = bytes | bytearray | memoryview


class Decoder(Record):
    """A compiled decoder for one type; immutable, safe to share between threads.

    `decode(data)` returns `{field: value}` for `fields`, in declaration order; a
    non-struct type (`scalar`) gives `{"value": v}`, and `decode_scalar(data)` gives `v`
    itself (it raises DecodeError for a struct). `data` may be longer than `size`; a
    shorter buffer raises DecodeError. `formats` are the `struct` formats unpacked per
    call (one unless members overlap) and `source` the generated Python, for debugging.
    `kinds` gives, per field, the type its value always has (`int`, `bool`, `str`, `float`)
    or `any`; `compile_rows(template, args, scope, guards)` makes the `generate_rows` function of
    these fields (samples → formatted lines, for the event log), `compile_records` the
    `generate_records` one (ring-buffer records read in place → lines; None when it cannot).
    `compile_grouping(value_field)` makes the `bee.decode.grouping` of these events (None when it cannot);
    `compile_batch(records)` the `generate_batch_decode` one (a batch → one dict per event, as `decode`
    gives them; over ring records in place when `records`, None when it cannot). `stable`: the same bytes
    always decode to the same values (no label type whose text may change during a run), so a caller may
    keep what it made of them.
    """

    type_name: str
    size: int
    fields: tuple[str, ...]
    scalar: bool
    decode: Callable[[Buffer], dict[str, Value]]
    decode_scalar: Callable[[Buffer], Value]
    formats: tuple[str, ...]
    source: str
    kinds: tuple[str, ...] = ()
    compile_rows: Callable[..., Rows] | None = None
    compile_records: Callable[..., Records | None] | None = None
    compile_grouping: Callable[[str | None], Grouping | None] | None = None
    compile_batch: Callable[[bool], DecodeSamples | DecodeRecords | None] | None = None
    stable: bool = True

    _hidden: ClassVar[tuple[str, ...]] = ("formats", "source", "kinds", "compile_rows", "compile_records",
                                          "compile_grouping", "compile_batch")

    __eq__ = object.__eq__  # compiled functions: two decoders are equal only when they are the same one
    __hash__ = object.__hash__


def _not_scalar(type_name: str) -> Callable[[Buffer], Value]:
    def decode_scalar(data: Buffer) -> Value:
        raise DecodeError(f"{type_name} is a struct or union, not a single value")

    return decode_scalar


MAX_DECODED_SIZE = 16 << 20  # bytes of the largest type decoded; BTF claiming more is damaged in practice


def compile_decoder(btf: Btf, type_id: int, *, endian: str = "little", stacks: KernelStacks | None = None) -> Decoder:
    """Compile the decoder of BTF type `type_id` for data in `endian` byte order ("little" or "big");
    `stacks` names `kstack_t` ids (without it a type holding one raises DecodeError).

    Struct and union members are flattened (`outer_inner`; anonymous members add no part).
    Raises DecodeError (one sentence naming the type) for forward declarations, functions,
    unsupported sizes, members outside their struct, types over `MAX_DECODED_SIZE`, and other types with
    no data layout.
    """
    compiler = LayoutCompiler(btf, endian, stacks)
    type_name = compiler.name(type_id)
    size = compiler.size(type_id)
    if size > MAX_DECODED_SIZE:
        raise DecodeError(f"{type_name} is {size} bytes, more than the {MAX_DECODED_SIZE >> 20} MiB bee decodes "
                          "(such a map value or event means damaged BTF)")
    scalar = not isinstance(btf.resolve(type_id), Composite)
    leaves = [Leaf(SCALAR_FIELD, *compiler.value(type_id))] if scalar else compiler.struct_leaves(type_id)

    def build(as_value: bool) -> Generated:
        return generate(leaves, endian=endian, what=type_name, size=size, namespace=compiler.namespace,
                        scalar=as_value)

    def compile_rows(template: str, args: tuple[str, ...], scope: dict[str, Any],
                     guards: tuple[Guard, ...] = ()) -> Rows:
        return generate_rows(leaves, endian=endian, what=type_name, size=size, namespace=compiler.namespace,
                             template=template, args=args, scope=scope, guards=guards)

    def compile_records(template: str, args: tuple[str, ...], scope: dict[str, Any],
                        guards: tuple[Guard, ...] = ()) -> Records | None:
        return generate_records(leaves, endian=endian, what=type_name, size=size, namespace=compiler.namespace,
                                template=template, args=args, scope=scope, guards=guards)

    def compile_batch(records: bool) -> DecodeSamples | DecodeRecords | None:
        return generate_batch_decode(leaves, endian=endian, what=type_name, size=size,
                                     namespace=compiler.namespace, records=records)

    def grouping(value_field: str | None) -> Grouping | None:
        return compile_grouping(leaves, value_field=value_field, endian=endian, size=size,
                                namespace=compiler.namespace, what=type_name)

    generated = build(False)
    decode_scalar = build(True).function if scalar else _not_scalar(type_name)
    return Decoder(type_name=type_name, size=size, fields=tuple(leaf.name for leaf in leaves), scalar=scalar,
                   decode=generated.function, decode_scalar=decode_scalar, formats=generated.formats,
                   source=generated.source, kinds=tuple(leaf.kind for leaf in leaves), compile_rows=compile_rows,
                   compile_records=compile_records, compile_grouping=grouping, compile_batch=compile_batch,
                   stable=compiler.stable)
