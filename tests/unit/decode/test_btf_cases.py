"""Hand-made BTF for what clang 14 does not emit (signed enums, ENUM64, old-style bitfields) and malformed types."""

from __future__ import annotations

import struct

import pytest

from bee.decode import DecodeError, compile_decoder
from bee.elf.btf import Btf, parse_btf
from bee.errors import BeeError
from tests.unit.elf.builders import BtfBuilder

STRUCT, UNION, FWD, TYPEDEF, FLOAT = 4, 5, 7, 8, 16
SIGNED, BOOL = 1, 4


def _btf(b: BtfBuilder) -> Btf:
    return parse_btf(b.build())


def _u32(b: BtfBuilder) -> int:
    return b.int_("unsigned int", 4, 32)


def test_forward_declaration_is_an_error() -> None:
    b = BtfBuilder()
    fwd = b.raw("later", FWD, 0, 0)
    with pytest.raises(DecodeError, match=r"^struct later \(a fwd\), which has no data layout"):
        compile_decoder(_btf(b), fwd)


def test_member_of_forward_declared_type_is_an_error() -> None:
    b = BtfBuilder()
    fwd = b.raw("later", FWD, 0, 0)
    holder = b.composite(STRUCT, "holder", 8, [("x", fwd, 0, 0)])
    with pytest.raises(DecodeError, match=r"^member x of struct holder has type struct later \(a fwd\)"):
        compile_decoder(_btf(b), holder)


def test_function_and_void_are_errors() -> None:
    b = BtfBuilder()
    proto = b.func_proto(0, [])
    func = b.func("handler", proto, 1)
    btf = _btf(b)
    with pytest.raises(DecodeError, match=r"^handler \(a func\)"):
        compile_decoder(btf, func)
    with pytest.raises(DecodeError, match=r"^void \(a void\)"):
        compile_decoder(btf, 0)
    assert issubclass(DecodeError, BeeError)


def test_members_outside_the_struct_are_errors() -> None:
    b = BtfBuilder()
    u32 = _u32(b)
    short = b.composite(STRUCT, "short", 4, [("a", u32, 0, 0), ("b", u32, 32, 0)])
    bits = b.composite(STRUCT, "bits", 4, [("a", u32, 30, 3)])
    btf = _btf(b)
    with pytest.raises(DecodeError, match="^member b of struct short lies outside the type's 4 bytes$"):
        compile_decoder(btf, short)
    with pytest.raises(DecodeError, match="^member a of struct bits lies outside"):
        compile_decoder(btf, bits)


def test_unsupported_sizes_are_errors() -> None:
    b = BtfBuilder()
    odd = b.int_("odd", 3, 24)
    quad = b.raw("long double", FLOAT, 0, 16)
    holder = b.composite(STRUCT, "holder", 3, [("x", odd, 0, 0)])
    btf = _btf(b)
    with pytest.raises(DecodeError, match="^member x of struct holder is a 3-byte integer"):
        compile_decoder(btf, holder)
    with pytest.raises(DecodeError, match="is a 16-byte float"):
        compile_decoder(btf, quad)


def test_floats() -> None:
    b = BtfBuilder()
    half, single, double = b.raw("_Float16", FLOAT, 0, 2), b.raw("float", FLOAT, 0, 4), b.raw("double", FLOAT, 0, 8)
    floats = b.composite(STRUCT, "floats", 16, [("h", half, 0, 0), ("f", single, 32, 0), ("d", double, 64, 0)])
    data = struct.pack("<e2xfd", 1.5, -0.25, 1e300)
    assert compile_decoder(_btf(b), floats).decode(data) == {"h": 1.5, "f": -0.25, "d": 1e300}


def test_signed_enum_and_enum64() -> None:
    b = BtfBuilder()
    signed = b.enum("level", 4, [("NEG", -2), ("POS", 3)], signed=True)
    wide = b.enum64("wide", 8, [("BIG", 1 << 40)])
    swide = b.enum64("swide", 8, [("VERY_NEG", -(1 << 40))], signed=True)
    holder = b.composite(STRUCT, "holder", 24, [("level", signed, 0, 0), ("wide", wide, 64, 0),
                                                 ("swide", swide, 128, 0)])
    decoder = compile_decoder(_btf(b), holder)
    assert decoder.decode(struct.pack("<i4xQq", -2, 1 << 40, -(1 << 40))) == {
        "level": "NEG", "wide": "BIG", "swide": "VERY_NEG"}
    assert decoder.decode(struct.pack("<i4xQq", -7, 5, -5)) == {"level": -7, "wide": 5, "swide": -5}


def test_signed_enum_bitfield() -> None:
    b = BtfBuilder()
    signed = b.enum("level", 4, [("NEG", -2), ("POS", 3)], signed=True)
    holder = b.composite(STRUCT, "holder", 4, [("lo", signed, 0, 4), ("hi", signed, 4, 4)])
    assert compile_decoder(_btf(b), holder).decode(bytes([0x3E, 0, 0, 0])) == {"lo": "NEG", "hi": "POS"}


def test_bitfields_in_int_encoding() -> None:
    """Old BTF marks a bitfield by an INT narrower than its size (bits, bit offset) instead of kind_flag."""
    b = BtfBuilder()
    three = b.int_("int", 4, 3, SIGNED, offset=2)
    holder = b.composite(STRUCT, "holder", 8, [("pad", _u32(b), 0, 0), ("x", three, 32, 0)])
    assert compile_decoder(_btf(b), holder).decode(struct.pack("<II", 0, 0b10100)) == {"pad": 0, "x": -3}


def test_bool_encodings() -> None:
    b = BtfBuilder()
    wide_bool = b.int_("wide_bool", 4, 32, BOOL)
    plain = b.int_("bool", 1, 8)  # no BOOL encoding, but called bool
    holder = b.composite(STRUCT, "holder", 8, [("w", wide_bool, 0, 0), ("p", plain, 32, 0)])
    assert compile_decoder(_btf(b), holder).decode(struct.pack("<IB3x", 0x100, 3)) == {"w": True, "p": True}


def test_typedef_names_with_other_sizes() -> None:
    b = BtfBuilder()
    u16, u32 = b.int_("unsigned short", 2, 16), _u32(b)
    short_ip = b.ref(TYPEDEF, u16, "ipv4_addr")
    short_duration = b.ref(TYPEDEF, u32, "duration")
    holder = b.composite(STRUCT, "holder", 8, [("ip", short_ip, 0, 0), ("elapsed", short_duration, 32, 0)])
    assert compile_decoder(_btf(b), holder).decode(struct.pack("<H2xI", 0x0102, 1500)) == {
        "ip": 0x0102, "elapsed": "1.5µs"}


def test_flattened_names_that_collide_are_numbered() -> None:
    b = BtfBuilder()
    u32 = _u32(b)
    inner = b.composite(STRUCT, "", 4, [("b", u32, 0, 0)])
    outer = b.composite(STRUCT, "outer", 8, [("a", inner, 0, 0), ("a_b", u32, 32, 0)])
    decoder = compile_decoder(_btf(b), outer)
    assert decoder.fields == ("a_b", "a_b_2")
    assert decoder.decode(struct.pack("<II", 1, 2)) == {"a_b": 1, "a_b_2": 2}


def test_unnamed_scalar_members_are_padding() -> None:
    b = BtfBuilder()
    u32 = _u32(b)
    holder = b.composite(STRUCT, "holder", 12, [("a", u32, 0, 0), ("", u32, 32, 0), ("c", u32, 64, 0)])
    assert compile_decoder(_btf(b), holder).decode(struct.pack("<III", 1, 2, 3)) == {"a": 1, "c": 3}


def test_top_level_union_empty_struct_and_char_array() -> None:
    b = BtfBuilder()
    u32, char = _u32(b), b.int_("char", 1, 8, SIGNED)
    u8 = b.int_("unsigned char", 1, 8)
    number = b.composite(UNION, "number", 4, [("u", u32, 0, 0), ("lo", u8, 0, 0)])
    empty = b.composite(STRUCT, "empty", 0, [])
    name = b.array(char, u32, 8)
    btf = _btf(b)
    assert compile_decoder(btf, number).decode(struct.pack("<I", 0x1234)) == {"u": 0x1234, "lo": 0x34}
    assert compile_decoder(btf, empty).decode(b"") == {}
    decoder = compile_decoder(btf, name)
    assert (decoder.scalar, decoder.type_name, decoder.decode_scalar(b"bee\0\0\0\0\0")) == (True, "char[8]", "bee")


def test_long_arrays_of_enums_and_structs() -> None:
    b = BtfBuilder()
    u32 = _u32(b)
    state = b.enum("state", 4, [("ON", 1)])
    states = b.array(state, u32, 40)
    pair = b.composite(STRUCT, "pair", 2, [("x", b.int_("unsigned char", 1, 8), 0, 0), ("y", u32, 8, 0)])
    none = b.array(pair, u32, 0)
    holder = b.composite(STRUCT, "holder", 160, [("states", states, 0, 0), ("none", none, 1280, 0)])
    btf = _btf(b)
    with pytest.raises(DecodeError, match="member y of struct pair lies outside"):
        compile_decoder(btf, pair)
    got = compile_decoder(btf, holder).decode(struct.pack("<40I", *([1, 7] * 20)))
    assert got == {"states": ["ON", 7] * 20, "none": []}


def test_nesting_too_deep_is_an_error() -> None:
    b = BtfBuilder()
    t = _u32(b)
    for level in range(40):
        t = b.composite(STRUCT, f"level{level}", 4, [("x", t, 0, 0)])
    with pytest.raises(DecodeError, match="^struct level39 cannot be decoded: .*nests structs"):
        compile_decoder(_btf(b), t)


def test_struct_inside_itself_is_an_error() -> None:
    b = BtfBuilder()
    u32 = _u32(b)
    items = b.array(b.count + 2, u32, 1)  # the struct defined next
    loop = b.composite(STRUCT, "loop", 4, [("items", items, 0, 0)])
    with pytest.raises(DecodeError, match="^struct loop contains itself"):
        compile_decoder(_btf(b), loop)


def test_big_endian_scalars() -> None:
    b = BtfBuilder(endian=">")
    u16, i128 = b.int_("unsigned short", 2, 16), b.int_("__int128", 16, 128, SIGNED)
    holder = b.composite(STRUCT, "holder", 32, [("port", u16, 0, 0), ("big", i128, 128, 0)])
    data = struct.pack(">H14x", 443) + (-5).to_bytes(16, "big", signed=True)
    assert compile_decoder(_btf(b), holder, endian="big").decode(data) == {"port": 443, "big": -5}


def test_unknown_byte_order_is_rejected() -> None:
    b = BtfBuilder()
    u32 = _u32(b)
    with pytest.raises(ValueError, match="endian"):
        compile_decoder(_btf(b), u32, endian="middle")
