"""The BTF type model: one immutable `Record` class per kind, as in the kernel's `include/uapi/linux/btf.h`.

Every type has its `id` (0 is void), its `name` ("" when anonymous), the byte `offset`
of its record within the type section (-1 for void, which has no record) and the
record's length `record_len`, so a rewriter can patch records in place. Member, param
and variable type ids are kept as written (typedefs and qualifiers are not skipped).
"""

from __future__ import annotations

import enum

from bee.records import Record  # not dataclasses: ~8 ms + 0.7 ms a class of bee run (docs/dev/startup.md)

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import ClassVar


class Kind(enum.IntEnum):
    """BTF_KIND_* values."""

    VOID = 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19

    @property
    def label(self) -> str:
        """The lower-case name bpftool prints (`int`, `func_proto`, `decl_tag`)."""
        return self.name.lower()


class IntEncoding(enum.IntFlag):
    """BTF_INT_* encoding bits of an INT."""

    NONE = 0
    SIGNED = 1
    CHAR = 2
    BOOL = 4


class Linkage(enum.IntEnum):
    """BTF_FUNC_* linkage of a FUNC, and BTF_VAR_* linkage of a VAR (same numbers)."""

    STATIC = 0
    GLOBAL = 1
    EXTERN = 2


class BtfType(Record):
    """Fields every kind has."""

    id: int
    name: str
    offset: int  # byte offset of the record within the type section; -1 for void
    record_len: int  # bytes of the record (12-byte header plus kind data)

    kind: ClassVar[Kind] = Kind.VOID


class Void(BtfType):
    """Type id 0."""

    kind: ClassVar[Kind] = Kind.VOID


class Int(BtfType):
    """An integer: `bits` wide starting at `bit_offset` within `size` bytes."""

    size: int
    encoding: IntEncoding
    bit_offset: int
    bits: int

    kind: ClassVar[Kind] = Kind.INT

    @property
    def signed(self) -> bool:
        return bool(self.encoding & IntEncoding.SIGNED)

    @property
    def is_char(self) -> bool:
        return bool(self.encoding & IntEncoding.CHAR) or self.name in ("char", "signed char", "unsigned char")

    @property
    def is_bool(self) -> bool:
        return bool(self.encoding & IntEncoding.BOOL)


class Float(BtfType):
    size: int

    kind: ClassVar[Kind] = Kind.FLOAT


class Ptr(BtfType):
    type_id: int

    kind: ClassVar[Kind] = Kind.PTR


class Array(BtfType):
    type_id: int  # element type
    index_type_id: int
    nelems: int

    kind: ClassVar[Kind] = Kind.ARRAY


class Member(Record):
    """A struct/union member: `bit_offset` from the start of the composite, `bitfield_size` 0 unless a bitfield."""

    name: str
    type_id: int
    bit_offset: int
    bitfield_size: int

    @property
    def byte_offset(self) -> int:
        return self.bit_offset // 8


class Composite(BtfType):
    """Base of STRUCT and UNION; `kind_flag` records that member offsets carry bitfield sizes."""

    size: int
    members: tuple[Member, ...]
    kind_flag: bool

    def member(self, name: str) -> Member | None:
        """The member called `name` (direct members only), or None."""
        return next((m for m in self.members if m.name == name), None)


class Struct(Composite):
    kind: ClassVar[Kind] = Kind.STRUCT


class Union(Composite):
    kind: ClassVar[Kind] = Kind.UNION


class EnumValue(Record):
    name: str
    value: int  # already sign-interpreted when the enum is signed


class Enum(BtfType):
    """ENUM (32-bit values) with `size` 1, 2, 4 or 8; `signed` from kind_flag (BTF of LLVM 15+)."""

    size: int
    signed: bool
    values: tuple[EnumValue, ...]

    kind: ClassVar[Kind] = Kind.ENUM


class Enum64(BtfType):
    size: int
    signed: bool
    values: tuple[EnumValue, ...]

    kind: ClassVar[Kind] = Kind.ENUM64


class Fwd(BtfType):
    """A forward declaration of a struct, or of a union when `is_union`."""

    is_union: bool

    kind: ClassVar[Kind] = Kind.FWD


class Reference(BtfType):
    """Base of the kinds that only point to another type (typedef, qualifiers, type tag): what `Btf.resolve` skips."""

    type_id: int


class Typedef(Reference):
    kind: ClassVar[Kind] = Kind.TYPEDEF


class Volatile(Reference):
    kind: ClassVar[Kind] = Kind.VOLATILE


class Const(Reference):
    kind: ClassVar[Kind] = Kind.CONST


class Restrict(Reference):
    kind: ClassVar[Kind] = Kind.RESTRICT


class TypeTag(Reference):
    kind: ClassVar[Kind] = Kind.TYPE_TAG


class Func(BtfType):
    """A function: `type_id` is its FUNC_PROTO."""

    type_id: int
    linkage: Linkage

    kind: ClassVar[Kind] = Kind.FUNC


class Param(Record):
    """A FUNC_PROTO parameter; a trailing param with name "" and type 0 means `...`."""

    name: str
    type_id: int


class FuncProto(BtfType):
    return_type_id: int
    params: tuple[Param, ...]

    kind: ClassVar[Kind] = Kind.FUNC_PROTO

    @property
    def variadic(self) -> bool:
        return bool(self.params) and self.params[-1].type_id == 0 and not self.params[-1].name


class Var(BtfType):
    type_id: int
    linkage: Linkage

    kind: ClassVar[Kind] = Kind.VAR


class VarSecinfo(Record):
    """One DATASEC entry: the VAR (or FUNC, for externs) `type_id`, its `offset` and `size` in the section."""

    type_id: int
    offset: int
    size: int


class Datasec(BtfType):
    """A data section; its `name` is the ELF section's. Entry i's record sits at `offset + 12 + 12 * i`."""

    size: int
    vars: tuple[VarSecinfo, ...]

    kind: ClassVar[Kind] = Kind.DATASEC


class DeclTag(BtfType):
    """A declaration tag on `type_id`; `component_idx` is -1 for the whole declaration, else a member/param index."""

    type_id: int
    component_idx: int

    kind: ClassVar[Kind] = Kind.DECL_TAG
