"""Struct layouts for display and decoding: a member tree (`field_tree`) and its flattened leaves (`describe_type`).

Offsets are from the start of the outermost type. Member type ids are kept as written,
so `btf.typedef_names(field.type_id)` still tells an `ipv4_addr` from a plain `u32`.
"""

from __future__ import annotations

from bee.elf.btf import Btf
from bee.elf.btf_types import Composite
from bee.errors import ElfError
from bee.records import Record  # not dataclasses: ~8 ms + 0.7 ms a class of bee run (docs/dev/startup.md)

_MAX_NESTING = 32


class FieldSpec(Record):
    """One member: `path` is dotted from the outer type (`inner.a`); anonymous members add no segment.

    `bit_size` is set only for bitfields (then `offset` is the byte holding the first bit);
    `size` is the byte size of the member's type; `kind` the label of its resolved kind
    (`int`, `struct`, `array`, `enum`, `ptr`...); `children` the members of a nested struct or union.
    """

    name: str
    path: str
    type_id: int
    type_name: str
    kind: str
    offset: int
    size: int
    bit_offset: int
    bit_size: int | None = None
    children: tuple[FieldSpec, ...] = ()

    @property
    def is_bitfield(self) -> bool:
        return self.bit_size is not None


def _size(btf: Btf, type_id: int) -> int:
    try:
        return btf.size_of(type_id)
    except ElfError:
        return 0  # a flexible or incomplete member (e.g. `char data[]` is sized, a forward declaration is not)


def _members(btf: Btf, composite: Composite, prefix: str, base_bits: int, depth: int) -> tuple[FieldSpec, ...]:
    if depth > _MAX_NESTING:
        raise ElfError(f"BTF type {composite.id} nests structs more than {_MAX_NESTING} levels deep")
    fields = []
    for m in composite.members:
        bits = base_bits + m.bit_offset
        path = f"{prefix}.{m.name}" if prefix and m.name else (m.name or prefix)
        target = btf.resolve(m.type_id)
        children: tuple[FieldSpec, ...] = ()
        if isinstance(target, Composite):
            children = _members(btf, target, path, bits, depth + 1)
        fields.append(FieldSpec(
            name=m.name, path=path, type_id=m.type_id, type_name=btf.type_name(m.type_id),
            kind=target.kind.label, offset=bits // 8, size=_size(btf, m.type_id), bit_offset=bits,
            bit_size=m.bitfield_size or None, children=children,
        ))
    return tuple(fields)


def field_tree(btf: Btf, type_id: int) -> tuple[FieldSpec, ...]:
    """The members of struct/union `type_id` as a tree; a non-composite type gives one unnamed field."""
    target = btf.resolve(type_id)
    if isinstance(target, Composite):
        return _members(btf, target, "", 0, 0)
    return (FieldSpec(name="", path="", type_id=type_id, type_name=btf.type_name(type_id),
                      kind=target.kind.label, offset=0, size=_size(btf, type_id), bit_offset=0),)


def flatten(fields: tuple[FieldSpec, ...]) -> list[FieldSpec]:
    """The leaves of a field tree in declaration order (a nested struct is replaced by its members)."""
    out: list[FieldSpec] = []
    for f in fields:
        if f.children:
            out.extend(flatten(f.children))
        else:
            out.append(f)
    return out


def describe_type(btf: Btf, type_id: int) -> list[FieldSpec]:
    """The flattened fields of `type_id` for display: nested members appear as `outer.inner`."""
    return flatten(field_tree(btf, type_id))
