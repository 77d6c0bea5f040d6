"""bee.elf.fields: struct layouts (offsets, bitfields, nesting, anonymous members) of compiled structs."""

from __future__ import annotations

from collections.abc import Callable

from bee.elf import describe_type, field_tree, load_spec
from bee.elf.btf import Btf
from bee.elf.btf_types import Kind
from bee.elf.fields import FieldSpec


def _rows(fields: list[FieldSpec]) -> list[tuple[object, ...]]:
    return [(f.path, f.type_name, f.kind, f.offset, f.size, f.bit_offset, f.bit_size) for f in fields]


def _btf(obj: Callable[[str], bytes], name: str) -> Btf:
    btf = load_spec(obj(name)).btf
    assert btf is not None
    return btf


def _id(btf: Btf, name: str, kind: Kind = Kind.STRUCT) -> int:
    t = btf.find(name, kind)
    assert t is not None
    return t.id


def test_event_with_padding_bitfields_bool_enum_nesting(obj: Callable[[str], bytes]) -> None:
    btf = _btf(obj, "prefix")
    assert _rows(describe_type(btf, _id(btf, "event"))) == [
        ("flag", "u8", "int", 0, 1, 0, None),
        ("saddr", "ipv4_addr", "int", 4, 4, 32, None),
        ("elapsed", "duration", "int", 8, 8, 64, None),
        ("comm", "char[16]", "array", 16, 16, 128, None),
        ("ok", "_Bool", "int", 32, 1, 256, None),
        ("kind", "unsigned int", "int", 33, 4, 264, 3),
        ("level", "unsigned int", "int", 33, 4, 267, 5),
        ("state", "enum bee_state", "enum", 36, 4, 288, None),
        ("where.port", "u16", "int", 40, 2, 320, None),
        ("where.proto", "u8", "int", 42, 1, 336, None),
        ("samples", "u32[3]", "array", 44, 12, 352, None),
        ("daddr", "ipv6_addr", "int", 56, 4, 448, None),
        ("delta", "s64", "int", 64, 8, 512, None),
    ]


def test_tree_keeps_nested_structs_and_typedef_ids(obj: Callable[[str], bytes]) -> None:
    btf = _btf(obj, "prefix")
    tree = field_tree(btf, _id(btf, "event"))
    where = next(f for f in tree if f.name == "where")
    assert (where.type_name, where.kind, where.offset, where.size) == ("struct inner", "struct", 40, 4)
    assert [(c.name, c.path, c.offset) for c in where.children] == [("port", "where.port", 40),
                                                                    ("proto", "where.proto", 42)]
    saddr = next(f for f in tree if f.name == "saddr")
    assert btf.typedef_names(saddr.type_id)[0] == "ipv4_addr"
    kind = next(f for f in tree if f.name == "kind")
    assert kind.is_bitfield and not saddr.is_bitfield


def test_zoo_layout(obj: Callable[[str], bytes]) -> None:
    btf = _btf(obj, "types")
    assert _rows(describe_type(btf, _id(btf, "zoo"))) == [
        ("tag", "u8", "int", 0, 1, 0, None),
        ("as_u32", "u32", "int", 4, 4, 32, None),  # anonymous union: no path segment
        ("as_bytes", "u8[4]", "array", 4, 4, 32, None),
        ("halves.lo", "u16", "int", 8, 2, 64, None),
        ("halves.hi", "u16", "int", 10, 2, 80, None),
        ("segment.from.x", "s32", "int", 12, 4, 96, None),
        ("segment.from.y", "s32", "int", 16, 4, 128, None),
        ("segment.to.x", "s32", "int", 20, 4, 160, None),
        ("segment.to.y", "s32", "int", 24, 4, 192, None),
        ("origin.x", "s32", "int", 28, 4, 224, None),  # through the point_t typedef
        ("origin.y", "s32", "int", 32, 4, 256, None),
        ("grid", "int[2][3]", "array", 36, 24, 288, None),
        ("name", "const char *", "ptr", 64, 8, 512, None),
        ("counter", "volatile u32", "int", 72, 4, 576, None),
        ("limit", "const volatile u64", "int", 80, 8, 640, None),
        ("opaque", "void *", "ptr", 88, 8, 704, None),
        ("unknown", "struct bee_undefined *", "ptr", 96, 8, 768, None),
        ("rp", "char * restrict", "ptr", 104, 8, 832, None),
        ("callback", "int (*)(int, char *)", "ptr", 112, 8, 896, None),
        ("ratio", "float", "float", 120, 4, 960, None),
        ("precise", "double", "float", 128, 8, 1024, None),
        ("sign", "enum signed_values", "enum", 136, 4, 1088, None),
        ("small", "enum tiny", "enum", 140, 1, 1120, None),
        ("big", "enum wide", "enum", 144, 8, 1152, None),
        ("tagged", "int", "int", 152, 4, 1216, None),
        ("uptr", "int *", "ptr", 160, 8, 1280, None),
        ("addr6", "ipv6_addr", "int", 168, 4, 1344, None),
        ("bits_lo", "u64", "int", 172, 8, 1376, 12),
        ("bits_hi", "u64", "int", 176, 8, 1408, 52),
    ]
    anonymous = field_tree(btf, _id(btf, "zoo"))[1]
    assert (anonymous.name, anonymous.path, anonymous.kind) == ("", "", "union")
    assert [c.path for c in anonymous.children] == ["as_u32", "as_bytes"]


def test_union_key_and_scalar_value(obj: Callable[[str], bytes]) -> None:
    spec = load_spec(obj("types"))
    assert spec.btf is not None
    numbers = spec.map("counter_numbers")
    assert numbers is not None and numbers.key_type_id is not None and numbers.value_type_id is not None
    assert _rows(describe_type(spec.btf, numbers.key_type_id)) == [
        ("i", "s64", "int", 0, 8, 0, None),
        ("u", "u64", "int", 0, 8, 0, None),
        ("f", "double", "float", 0, 8, 0, None),
    ]
    assert _rows(describe_type(spec.btf, numbers.value_type_id)) == [("", "u64", "int", 0, 8, 0, None)]
