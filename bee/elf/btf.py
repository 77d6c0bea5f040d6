"""Parse a `.BTF` section into a `Btf`: header, types (all kinds) and strings.

`parse_btf` checks everything up front (bounds, magic, version, kinds, type ids that
point nowhere, typedef/qualifier loops), so the query methods of `Btf` only raise
`ElfError` for questions that have no answer (the size of a function, a loop through
arrays). Byte order comes from the magic (0xeB9F), as libbpf does.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from bee.elf.btf_types import (
    Array,
    BtfType,
    Composite,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    IntEncoding,
    Kind,
    Linkage,
    Member,
    Param,
    Ptr,
    Reference,
    Restrict,
    Struct,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    Void,
    Volatile,
)
from bee.errors import ElfError
from bee.records import Record  # not dataclasses: ~8 ms + 0.7 ms a class of bee run (docs/dev/startup.md)

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import ClassVar

BTF_MAGIC = 0xEB9F
POINTER_SIZE = 8  # BPF is a 64-bit target
_MAX_DEPTH = 64  # deepest type chain followed before calling it a loop


class BtfHeader(Record):
    """`struct btf_header`; `type_off`/`str_off` are relative to the end of the header (`hdr_len`)."""

    magic: int
    version: int
    flags: int
    hdr_len: int
    type_off: int
    type_len: int
    str_off: int
    str_len: int

    @property
    def type_start(self) -> int:
        """Byte offset of the type section within the `.BTF` data."""
        return self.hdr_len + self.type_off

    @property
    def str_start(self) -> int:
        """Byte offset of the string section within the `.BTF` data."""
        return self.hdr_len + self.str_off


class Btf(Record):
    """Parsed BTF. `types[i]` is the type with id i; `types[0]` is void.

    Built by `parse_btf`; immutable, comparable and hashable by header, byte order, types and
    strings (same bytes give equal objects). `_by_name` and `_resolved` are lookups computed
    from the types when not given.
    """

    header: BtfHeader
    endian: str  # "<" or ">"
    types: tuple[BtfType, ...]
    strings: bytes
    _by_name: dict[str, tuple[int, ...]]
    _resolved: tuple[int, ...]

    _hidden: ClassVar[tuple[str, ...]] = ("strings", "_by_name", "_resolved")

    def __init__(self, header: BtfHeader, endian: str, types: tuple[BtfType, ...], strings: bytes,
                 _by_name: dict[str, tuple[int, ...]] | None = None, _resolved: tuple[int, ...] | None = None) -> None:
        if _by_name is None:
            by_name: dict[str, list[int]] = {}
            for t in types:
                if t.name:
                    by_name.setdefault(t.name, []).append(t.id)
            _by_name = {k: tuple(v) for k, v in by_name.items()}
        super().__init__(header, endian, types, strings, _by_name,
                         _resolve_all(types) if _resolved is None else _resolved)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values()[:4] == other._values()[:4]

    def __hash__(self) -> int:
        return hash(self._values()[:4])

    # --- lookups ------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.types)

    def __iter__(self) -> Iterator[BtfType]:
        return iter(self.types)

    def get(self, type_id: int) -> BtfType:
        """The type with id `type_id`; raises ElfError when there is none."""
        if not 0 <= type_id < len(self.types):
            raise ElfError(f"BTF type id {type_id} does not exist (the BTF has {len(self.types)} types)")
        return self.types[type_id]

    def by_name(self, name: str, kind: Kind | None = None) -> tuple[BtfType, ...]:
        """All types called `name` (of `kind`, if given), in id order."""
        found = (self.types[i] for i in self._by_name.get(name, ()))
        return tuple(t for t in found if kind is None or t.kind == kind)

    def find(self, name: str, kind: Kind | None = None) -> BtfType | None:
        """The first type called `name` (of `kind`, if given), or None."""
        matches = self.by_name(name, kind)
        return matches[0] if matches else None

    def datasecs(self) -> tuple[Datasec, ...]:
        return tuple(t for t in self.types if isinstance(t, Datasec))

    def string_at(self, offset: int) -> str:
        """The NUL-terminated string at `offset` in the string section; raises ElfError when out of range."""
        return _string(self.strings, offset)

    # --- type algebra -------------------------------------------------------------------------------

    def resolve(self, type_id: int) -> BtfType:
        """The type behind `type_id` after skipping typedef, const, volatile, restrict and type tags."""
        return self.types[self._resolved[self.get(type_id).id]]

    def typedef_names(self, type_id: int) -> tuple[str, ...]:
        """Typedef names met while resolving `type_id`, outermost first (`ipv4_addr`, `u32`, `__u32`)."""
        names = []
        t = self.get(type_id)
        while isinstance(t, Reference):
            if isinstance(t, Typedef):
                names.append(t.name)
            t = self.types[t.type_id]
        return tuple(names)

    def size_of(self, type_id: int) -> int:
        """Size in bytes of a value of type `type_id`; raises ElfError for void, functions and forward declarations."""
        return self._size_of(type_id, 0)

    def _size_of(self, type_id: int, depth: int) -> int:
        t = self.resolve(type_id)
        if depth > _MAX_DEPTH:
            raise ElfError(f"BTF type {type_id} is part of a loop of arrays or variables")
        if isinstance(t, (Int, Float, Composite, Enum, Enum64, Datasec)):
            return t.size
        if isinstance(t, Ptr):
            return POINTER_SIZE
        if isinstance(t, Array):
            return t.nelems * self._size_of(t.type_id, depth + 1)
        if isinstance(t, Var):
            return self._size_of(t.type_id, depth + 1)
        raise ElfError(f"BTF type {t.id} ({self.type_name(t.id)}, a {t.kind.label}) has no size")

    def type_name(self, type_id: int) -> str:
        """A readable C-like name: `u32`, `char[16]`, `struct event`, `enum state`, `const char *`."""
        return self._name(type_id, 0)

    def _name(self, type_id: int, depth: int) -> str:
        if depth > _MAX_DEPTH:
            raise ElfError(f"BTF type {type_id} is part of a loop of pointers")
        t = self.get(type_id)
        if isinstance(t, Void):
            return "void"
        if isinstance(t, (Struct, Union, Enum, Enum64, Fwd)):
            keyword = {Kind.STRUCT: "struct", Kind.UNION: "union", Kind.ENUM: "enum", Kind.ENUM64: "enum",
                       Kind.FWD: "union" if isinstance(t, Fwd) and t.is_union else "struct"}[t.kind]
            return f"{keyword} {t.name or '{...}'}"
        if isinstance(t, Ptr):
            target = self.get(t.type_id)
            if isinstance(target, FuncProto):
                proto = self._name(target.id, depth + 1)
                ret, _, params = proto.partition(" (")
                return f"{ret} (*)({params}"
            if isinstance(target, Array):
                base, dims = self._array_parts(target, depth)
                return f"{base} (*){dims}"
            inner = self._name(t.type_id, depth + 1)
            return inner + ("*" if inner.endswith("*") else " *")
        if isinstance(t, Array):
            base, dims = self._array_parts(t, depth)
            return base + dims
        if isinstance(t, (Const, Volatile, Restrict)):
            word = {Kind.CONST: "const", Kind.VOLATILE: "volatile", Kind.RESTRICT: "restrict"}[t.kind]
            inner = self._name(t.type_id, depth + 1)
            target = self.resolve(t.type_id)
            if isinstance(t, Restrict) or isinstance(target, Ptr):
                return f"{inner} {word}"
            return f"{word} {inner}"
        if isinstance(t, TypeTag):
            return self._name(t.type_id, depth + 1)
        if isinstance(t, FuncProto):
            params = ", ".join("..." if p.type_id == 0 and not p.name else self._name(p.type_id, depth + 1)
                               for p in t.params)
            return f"{self._name(t.return_type_id, depth + 1)} ({params or 'void'})"
        if isinstance(t, DeclTag):
            return f"decl_tag {t.name}"
        return t.name  # int, float, typedef, func, var, datasec

    def _array_parts(self, array: Array, depth: int) -> tuple[str, str]:
        """(element name, "[2][3]") of a possibly multi-dimensional array."""
        dims = [array.nelems]
        elem = self.get(array.type_id)
        while isinstance(elem, Array) and len(dims) <= _MAX_DEPTH:
            dims.append(elem.nelems)
            elem = self.get(elem.type_id)
        return self._name(elem.id, depth + 1), "".join(f"[{n}]" for n in dims)


# --- parsing -----------------------------------------------------------------------------------------

_HEADER = "HBBIIIII"
_HEADER_SIZE = 24
_ITEM = 12  # size of btf_type, btf_array, btf_member, btf_enum64, btf_var_secinfo


def _string(strings: bytes, offset: int) -> str:
    if offset >= len(strings) and not (offset == 0 and not strings):
        raise ElfError(f"the .BTF section refers to string offset {offset}, "
                       f"past its {len(strings)}-byte string section")
    end = strings.find(b"\0", offset)
    if end < 0:
        end = len(strings)
    return strings[offset:end].decode("utf-8", errors="replace")


def _read_header(data: bytes) -> tuple[BtfHeader, str]:
    if len(data) < 4:
        raise ElfError(f"the .BTF section is truncated: {len(data)} bytes, too short for a BTF header")
    endian = {b"\x9f\xeb": "<", b"\xeb\x9f": ">"}.get(bytes(data[:2]))
    if endian is None:
        magic = int.from_bytes(data[:2], "little")
        raise ElfError(f"the .BTF section has a bad magic number {magic:#06x} (expected {BTF_MAGIC:#06x})")
    if len(data) < _HEADER_SIZE:
        raise ElfError(f"the .BTF section is truncated: {len(data)} bytes, too short for a BTF header")
    header = BtfHeader(*struct.unpack_from(endian + _HEADER, data))
    if header.version != 1:
        raise ElfError(f"the .BTF section has BTF version {header.version}; only version 1 is known")
    if not _HEADER_SIZE <= header.hdr_len <= len(data):
        raise ElfError(f"the .BTF section has a header length of {header.hdr_len} bytes, outside 24..{len(data)}")
    for what, off, length in (("type", header.type_off, header.type_len), ("string", header.str_off, header.str_len)):
        if header.hdr_len + off + length > len(data):
            raise ElfError(f"the .BTF {what} section ({length} bytes at {header.hdr_len + off}) runs past "
                           f"the end of the {len(data)}-byte section")
    if header.type_off % 4:
        raise ElfError(f"the .BTF type section starts at offset {header.type_off}, which is not 4-byte aligned")
    return header, endian


# Per raw kind: bytes after the 12-byte header, and bytes per vlen item.
_EXTRA = {int(Kind.INT): 4, int(Kind.ARRAY): _ITEM, int(Kind.VAR): 4, int(Kind.DECL_TAG): 4}
_PER_ITEM = {int(Kind.STRUCT): _ITEM, int(Kind.UNION): _ITEM, int(Kind.ENUM): 8, int(Kind.ENUM64): _ITEM,
             int(Kind.FUNC_PROTO): 8, int(Kind.DATASEC): _ITEM}
_KINDS = {int(k): k for k in Kind if k != Kind.VOID}


def _records(types: bytes, strings: bytes, endian: str) -> list[BtfType]:
    u32 = struct.Struct(endian + "I")
    trio = struct.Struct(endian + "III")
    pair = struct.Struct(endian + "II")
    names: dict[int, str] = {}

    def string(offset: int) -> str:
        text = names.get(offset)
        if text is None:
            text = names[offset] = _string(strings, offset)
        return text

    result: list[BtfType] = [Void(0, "", -1, 0)]
    pos, end = 0, len(types)
    while pos < end:
        type_id = len(result)
        if pos + _ITEM > end:
            raise ElfError(f"the .BTF type section is truncated in the header of type {type_id}")
        name_off, info, size_or_type = trio.unpack_from(types, pos)
        vlen, raw_kind, kind_flag = info & 0xFFFF, (info >> 24) & 0x1F, bool(info >> 31)
        kind = _KINDS.get(raw_kind)
        if kind is None:
            raise ElfError(f"the .BTF section has type {type_id} of unknown kind {raw_kind}")
        length = _ITEM + _EXTRA.get(raw_kind, 0) + _PER_ITEM.get(raw_kind, 0) * vlen
        if pos + length > end:
            raise ElfError(f"the .BTF type section is truncated in type {type_id} ({kind.label})")
        name = string(name_off)
        body = pos + _ITEM
        items = types[body:pos + length]
        common = (type_id, name, pos, length)
        t: BtfType
        if raw_kind == 1:  # INT
            (word,) = u32.unpack_from(types, body)
            bit_offset, bits = (word >> 16) & 0xFF, word & 0xFF
            # 1..128 bits that fit in the integer's 1..16 bytes (the kernel's btf_int_check_meta bounds)
            if not 0 < size_or_type <= 16 or not 0 < bits <= 128 or bit_offset + bits > 8 * size_or_type:
                raise ElfError(f"the .BTF section has integer type {type_id} ({name or 'anonymous'}) of "
                               f"{size_or_type} bytes holding {bits} bits at bit {bit_offset}, which no compiler "
                               "writes: the object is damaged")
            t = Int(*common, size_or_type, IntEncoding((word >> 24) & 0xF), bit_offset, bits)
        elif raw_kind == 2:  # PTR
            t = Ptr(*common, size_or_type)
        elif raw_kind == 3:  # ARRAY
            t = Array(*common, *trio.unpack_from(types, body))
        elif raw_kind in (4, 5):  # STRUCT, UNION
            if kind_flag:
                members = tuple(Member(string(n), m_type, off & 0xFFFFFF, off >> 24)
                                for n, m_type, off in trio.iter_unpack(items))
            else:
                members = tuple(Member(string(n), m_type, off, 0) for n, m_type, off in trio.iter_unpack(items))
            t = (Struct if raw_kind == 4 else Union)(*common, size_or_type, members, kind_flag)
        elif raw_kind == 6:  # ENUM
            values = tuple(EnumValue(string(n), v - (1 << 32) if kind_flag and v >= 1 << 31 else v)
                           for n, v in pair.iter_unpack(items))
            t = Enum(*common, size_or_type, kind_flag, values)
        elif raw_kind == 19:  # ENUM64
            values = tuple(EnumValue(string(n), _signed64((hi << 32) | lo) if kind_flag else (hi << 32) | lo)
                           for n, lo, hi in trio.iter_unpack(items))
            t = Enum64(*common, size_or_type, kind_flag, values)
        elif raw_kind == 7:  # FWD
            t = Fwd(*common, kind_flag)
        elif kind in _REFERENCES:
            t = _REFERENCES[kind](*common, size_or_type)
        elif raw_kind == 12:  # FUNC
            t = Func(*common, size_or_type, _linkage(vlen, type_id))
        elif raw_kind == 13:  # FUNC_PROTO
            t = FuncProto(*common, size_or_type, tuple(Param(string(n), p) for n, p in pair.iter_unpack(items)))
        elif raw_kind == 14:  # VAR
            (linkage,) = u32.unpack_from(types, body)
            t = Var(*common, size_or_type, _linkage(linkage, type_id))
        elif raw_kind == 15:  # DATASEC
            t = Datasec(*common, size_or_type, tuple(VarSecinfo(*e) for e in trio.iter_unpack(items)))
        elif raw_kind == 16:  # FLOAT
            t = Float(*common, size_or_type)
        else:  # DECL_TAG
            (component,) = struct.unpack_from(endian + "i", types, body)
            t = DeclTag(*common, size_or_type, component)
        result.append(t)
        pos += length
    return result


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


_REFERENCES: dict[Kind, type[Reference]] = {
    Kind.TYPEDEF: Typedef, Kind.VOLATILE: Volatile, Kind.CONST: Const, Kind.RESTRICT: Restrict,
    Kind.TYPE_TAG: TypeTag,
}


def _linkage(value: int, type_id: int) -> Linkage:
    try:
        return Linkage(value)
    except ValueError:
        raise ElfError(f"the .BTF section has type {type_id} with unknown linkage {value}") from None


def _referenced_ids(t: BtfType) -> Iterator[int]:
    if isinstance(t, (Ptr, Reference, Func, Var, DeclTag)):
        yield t.type_id
    elif isinstance(t, Array):
        yield t.type_id
        yield t.index_type_id
    elif isinstance(t, Composite):
        yield from (m.type_id for m in t.members)
    elif isinstance(t, FuncProto):
        yield t.return_type_id
        yield from (p.type_id for p in t.params)
    elif isinstance(t, Datasec):
        yield from (v.type_id for v in t.vars)


def _check_ids(types: list[BtfType]) -> None:
    count = len(types)
    for t in types:
        for ref in _referenced_ids(t):
            if ref >= count:
                raise ElfError(f"the .BTF section has type {t.id} ({t.kind.label}) referring to type {ref}, "
                               f"which does not exist (there are {count} types)")


def _resolve_all(types: tuple[BtfType, ...]) -> tuple[int, ...]:
    """For each id, the id reached by skipping modifiers; raises ElfError on a modifier loop."""
    resolved = [-1] * len(types)
    for start in range(len(types)):
        chain: list[int] = []
        t = types[start]
        while isinstance(t, Reference) and resolved[t.id] < 0:
            if len(chain) >= len(types):
                raise ElfError(f"the .BTF section has a loop of typedefs or qualifiers through type {start}")
            chain.append(t.id)
            t = types[t.type_id]
        if not isinstance(t, Reference):
            resolved[t.id] = t.id
        for i in chain:
            resolved[i] = resolved[t.id]
    return tuple(resolved)


def parse_btf(data: bytes) -> Btf:
    """Parse the bytes of a `.BTF` section.

    Raises ElfError (one sentence) when the data is truncated, has a bad magic or
    version, a type of unknown kind, a type id that points nowhere, or a typedef loop.
    """
    data = bytes(data)
    header, endian = _read_header(data)
    types_raw = data[header.type_start:header.type_start + header.type_len]
    strings = data[header.str_start:header.str_start + header.str_len]
    types = _records(types_raw, strings, endian)
    _check_ids(types)
    return Btf(header, endian, tuple(types), strings)
