"""bee.elf.btf: every kind, both byte orders, the query methods, and malformed sections."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from bee.elf.btf import Btf, parse_btf
from bee.elf.btf_types import (
    Array,
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
    Restrict,
    Struct,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    Volatile,
)
from bee.elf.elf import read_elf
from bee.errors import ElfError
from tests.unit.elf.builders import BtfBuilder
from tests.unit.elf.oracle import bpftool_dump

BPFTOOL = shutil.which("bpftool") or next((p for p in ("/usr/sbin/bpftool", "/sbin/bpftool") if os.access(p, os.X_OK)),
                                          None)


def _btf_of(data: bytes) -> Btf:
    elf = read_elf(data)
    section = elf.section(".BTF")
    assert section is not None
    return parse_btf(elf.section_data(section))


def _zoo(endian: str) -> bytes:
    """One type of every kind, with ids 1..N in this order."""
    b = BtfBuilder(endian)
    b.int_("int", 4, 32, encoding=1)  # 1
    b.int_("unsigned char", 1, 8)  # 2
    b.int_("_Bool", 1, 8, encoding=4)  # 3
    b.ref(2, 1)  # 4 ptr -> int
    b.array(2, 1, 16)  # 5 unsigned char[16]
    b.composite(4, "event", 24, [("a", 1, 0, 0), ("flags", 2, 32, 3), ("more", 2, 35, 5), ("buf", 5, 64, 0)])  # 6
    b.composite(5, "num", 8, [("i", 1, 0, 0), ("b", 3, 0, 0)])  # 7
    b.enum("state", 4, [("A", 0), ("B", -2)], signed=True)  # 8
    b.enum("flags8", 1, [("F", 200)])  # 9
    b.ref(7, 0, "later")  # 10 fwd struct
    b.raw("later_u", 7, 0, 0, kind_flag=True)  # 11 fwd union
    b.ref(8, 2, "u8")  # 12 typedef
    b.ref(9, 1)  # 13 volatile int
    b.ref(10, 4)  # 14 const (int *)
    b.ref(11, 4)  # 15 restrict (int *)
    b.func_proto(1, [("x", 1), ("", 0)])  # 16 int (int, ...)
    b.func("f", 16, 1)  # 17
    b.var("v", 6, 1)  # 18
    b.datasec(".maps", 48, [(18, 0, 24), (17, 24, 0)])  # 19
    b.raw("double", 16, 0, 8)  # 20 float
    b.decl_tag("tag", 6, 1)  # 21
    b.ref(18, 1, "user")  # 22 type tag
    b.enum64("big", 8, [("MINUS", -5), ("HUGE", 1 << 40)], signed=True)  # 23
    b.enum64("ubig", 8, [("TOP", (1 << 64) - 1)])  # 24
    b.ref(10, 1)  # 25 const int
    b.ref(8, 12, "my_u8")  # 26 typedef -> typedef
    return b.build()


@pytest.mark.parametrize("endian", ["<", ">"])
def test_every_kind(endian: str) -> None:
    btf = parse_btf(_zoo(endian))
    assert btf.endian == endian
    assert len(btf) == 27
    t = btf.types
    assert t[1] == Int(1, "int", 0, 16, 4, IntEncoding.SIGNED, 0, 32)
    assert t[3].is_bool and not t[2].signed and t[1].signed  # type: ignore[attr-defined]
    assert t[4] == Ptr(4, "", 48, 12, 1)
    assert t[5] == Array(5, "", 60, 24, 2, 1, 16)
    assert t[6] == Struct(6, "event", 84, 60, 24, (Member("a", 1, 0, 0), Member("flags", 2, 32, 3),
                                                    Member("more", 2, 35, 5), Member("buf", 5, 64, 0)), True)
    assert t[7] == Union(7, "num", 144, 36, 8, (Member("i", 1, 0, 0), Member("b", 3, 0, 0)), False)
    assert t[8] == Enum(8, "state", 180, 28, 4, True, (EnumValue("A", 0), EnumValue("B", -2)))
    assert t[9] == Enum(9, "flags8", 208, 20, 1, False, (EnumValue("F", 200),))
    assert t[10] == Fwd(10, "later", 228, 12, False)
    assert t[11] == Fwd(11, "later_u", 240, 12, True)
    assert t[12] == Typedef(12, "u8", 252, 12, 2)
    assert isinstance(t[13], Volatile) and isinstance(t[14], Const) and isinstance(t[15], Restrict)
    assert t[16] == FuncProto(16, "", 300, 28, 1, (Param("x", 1), Param("", 0)))
    assert t[16].variadic  # type: ignore[attr-defined]
    assert t[17] == Func(17, "f", 328, 12, 16, Linkage.GLOBAL)
    assert t[18] == Var(18, "v", 340, 16, 6, Linkage.GLOBAL)
    assert t[19] == Datasec(19, ".maps", 356, 36, 48, (VarSecinfo(18, 0, 24), VarSecinfo(17, 24, 0)))
    assert t[20] == Float(20, "double", 392, 12, 8)
    assert t[21] == DeclTag(21, "tag", 404, 16, 6, 1)
    assert t[22] == TypeTag(22, "user", 420, 12, 1)
    assert t[23] == Enum64(23, "big", 432, 36, 8, True, (EnumValue("MINUS", -5), EnumValue("HUGE", 1 << 40)))
    assert t[24].values == (EnumValue("TOP", (1 << 64) - 1),)  # type: ignore[attr-defined]
    assert [x.kind for x in t] == [Kind(k) for k in (0, 1, 1, 1, 2, 3, 4, 5, 6, 6, 7, 7, 8, 9, 10, 11, 13, 12, 14,
                                                     15, 16, 17, 18, 19, 19, 10, 8)]
    # Record offsets chain: each record starts where the previous one ends.
    for prev, cur in zip(t[1:], t[2:], strict=False):
        assert cur.offset == prev.offset + prev.record_len
    assert btf.header.type_start == 24 and btf.header.str_start == 24 + btf.header.type_len


def test_queries_on_the_zoo() -> None:
    btf = parse_btf(_zoo("<"))
    names = {i: btf.type_name(i) for i in range(len(btf))}
    assert names == {
        0: "void", 1: "int", 2: "unsigned char", 3: "_Bool", 4: "int *", 5: "unsigned char[16]", 6: "struct event",
        7: "union num", 8: "enum state", 9: "enum flags8", 10: "struct later", 11: "union later_u", 12: "u8",
        13: "volatile int", 14: "int * const", 15: "int * restrict", 16: "int (int, ...)", 17: "f", 18: "v",
        19: ".maps", 20: "double", 21: "decl_tag tag", 22: "int", 23: "enum big", 24: "enum ubig",
        25: "const int", 26: "my_u8",
    }
    assert btf.size_of(6) == 24 and btf.size_of(5) == 16 and btf.size_of(4) == 8 and btf.size_of(26) == 1
    assert btf.size_of(18) == 24 and btf.size_of(9) == 1 and btf.size_of(23) == 8 and btf.size_of(22) == 4
    for no_size in (0, 10, 16, 17, 21):
        with pytest.raises(ElfError, match=r"has no size$"):
            btf.size_of(no_size)
    assert btf.resolve(26).id == 2 and btf.resolve(14).id == 4 and btf.resolve(22).id == 1
    assert btf.resolve(6).id == 6
    assert btf.typedef_names(26) == ("my_u8", "u8") and btf.typedef_names(2) == ()
    assert [x.id for x in btf.by_name("later")] == [10]
    assert btf.by_name("later", Kind.STRUCT) == ()
    assert btf.find("event", Kind.STRUCT) is btf.types[6]
    assert btf.find("nothing") is None
    assert [d.name for d in btf.datasecs()] == [".maps"]
    with pytest.raises(ElfError, match=r"^BTF type id 99 does not exist \(the BTF has 27 types\)$"):
        btf.get(99)
    assert btf.string_at(1) == "int"


def test_equal_bytes_give_equal_btf() -> None:
    assert parse_btf(_zoo("<")) == parse_btf(_zoo("<"))
    assert parse_btf(_zoo("<")) != parse_btf(_zoo(">"))


def test_pointer_and_array_names() -> None:
    b = BtfBuilder()
    b.int_("int", 4, 32, encoding=1)  # 1
    b.array(1, 1, 3)  # 2 int[3]
    b.array(2, 1, 2)  # 3 int[2][3]
    b.ref(2, 2)  # 4 int (*)[3]
    b.ref(2, 4)  # 5 int (**)[3]? rendered as pointer to that
    b.ref(2, 1)  # 6 int *
    b.ref(2, 6)  # 7 int **
    b.array(6, 1, 4)  # 8 int *[4]
    b.func_proto(1, [("a", 1), ("p", 6)])  # 9
    b.ref(2, 9)  # 10 int (*)(int, int *)
    b.func_proto(0, [])  # 11 void (void)
    b.composite(4, "", 4, [("x", 1, 0, 0)])  # 12 anonymous struct
    btf = parse_btf(b.build())
    assert [btf.type_name(i) for i in (2, 3, 4, 6, 7, 8, 10, 11, 12)] == [
        "int[3]", "int[2][3]", "int (*)[3]", "int *", "int **", "int *[4]", "int (*)(int, int *)", "void (void)",
        "struct {...}"]
    assert btf.size_of(3) == 24 and btf.size_of(8) == 32


@pytest.mark.bpftool
def test_matches_bpftool(compiled: Callable[[str], Path]) -> None:
    assert BPFTOOL is not None
    for name in ("prefix", "section", "types", "legacy", "section_be"):
        path = compiled(name)
        expected = subprocess.run([str(BPFTOOL), "btf", "dump", "file", str(path)], capture_output=True, text=True,
                                  check=True).stdout
        assert bpftool_dump(_btf_of(path.read_bytes())) == expected, name


def test_big_endian_btf_equals_little_endian(obj: Callable[[str], bytes]) -> None:
    little, big = _btf_of(obj("section")), _btf_of(obj("section_be"))
    assert little.endian == "<" and big.endian == ">"
    assert little.types == big.types


def test_typedef_chains_in_a_compiled_object(obj: Callable[[str], bytes]) -> None:
    btf = _btf_of(obj("prefix"))
    event = btf.find("event", Kind.STRUCT)
    assert isinstance(event, Struct)
    names = {m.name: btf.type_name(m.type_id) for m in event.members}
    assert names == {"flag": "u8", "saddr": "ipv4_addr", "elapsed": "duration", "comm": "char[16]", "ok": "_Bool",
                     "kind": "unsigned int", "level": "unsigned int", "state": "enum bee_state",
                     "where": "struct inner", "samples": "u32[3]", "daddr": "ipv6_addr", "delta": "s64"}
    saddr, elapsed = event.member("saddr"), event.member("elapsed")
    assert saddr is not None and elapsed is not None
    assert btf.typedef_names(saddr.type_id) == ("ipv4_addr", "u32", "__u32")
    assert btf.typedef_names(elapsed.type_id) == ("duration", "u64", "__u64")
    assert btf.type_name(btf.resolve(elapsed.type_id).id) == "unsigned long long"
    assert btf.size_of(event.id) == 72


def test_types_object_names(obj: Callable[[str], bytes]) -> None:
    btf = _btf_of(obj("types"))
    zoo = btf.find("zoo", Kind.STRUCT)
    assert isinstance(zoo, Struct)
    names = {m.name: btf.type_name(m.type_id) for m in zoo.members}
    assert names == {
        "tag": "u8", "": "union {...}", "halves": "struct {...}", "segment": "struct line", "origin": "point_t",
        "grid": "int[2][3]", "name": "const char *", "counter": "volatile u32", "limit": "const volatile u64",
        "opaque": "void *", "unknown": "struct bee_undefined *", "rp": "char * restrict",
        "callback": "int (*)(int, char *)", "ratio": "float", "precise": "double", "sign": "enum signed_values",
        "small": "enum tiny", "big": "enum wide", "tagged": "int", "uptr": "int *", "addr6": "ipv6_addr",
        "bits_lo": "u64", "bits_hi": "u64",
    }
    assert btf.size_of(zoo.id) == 184
    (tag,) = btf.by_name("bee_label", Kind.DECL_TAG)
    assert isinstance(tag, DeclTag) and tag.type_id == zoo.id and zoo.members[tag.component_idx].name == "tagged"
    funcs = {t.name: t.linkage for t in btf.types if isinstance(t, Func)}
    assert funcs == {"global_helper": Linkage.GLOBAL, "handle_write": Linkage.GLOBAL,
                     "bpf_rcu_read_lock": Linkage.EXTERN, "static_helper": Linkage.STATIC}
    variables = {t.name: t.linkage for t in btf.types if isinstance(t, Var)}
    assert variables["hidden_state"] == Linkage.STATIC and variables["bpf_prog_active"] == Linkage.EXTERN
    assert {d.name for d in btf.datasecs()} == {".bss", ".data", ".ksyms", ".maps", ".rodata", "license"}


# --- malformed sections ------------------------------------------------------------------------------


def _patched(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


@pytest.mark.parametrize(("data", "message"), [
    (b"", r"^the \.BTF section is truncated: 0 bytes, too short for a BTF header$"),
    (b"\x9f\xeb\x01\x00" + bytes(8), r"^the \.BTF section is truncated: 12 bytes, too short for a BTF header$"),
    (b"\x9f\xea" + bytes(30), r"^the \.BTF section has a bad magic number 0xea9f \(expected 0xeb9f\)$"),
])
def test_bad_headers(data: bytes, message: str) -> None:
    with pytest.raises(ElfError, match=message):
        parse_btf(data)


def test_bad_version_and_lengths() -> None:
    good = _zoo("<")
    with pytest.raises(ElfError, match=r"BTF version 2; only version 1 is known$"):
        parse_btf(_patched(good, 2, "<B", 2))
    with pytest.raises(ElfError, match=r"header length of 4096 bytes"):
        parse_btf(_patched(good, 4, "<I", 4096))
    with pytest.raises(ElfError, match=r"^the \.BTF string section \(\d+ bytes at \d+\) runs past the end"):
        parse_btf(good[:-1])
    with pytest.raises(ElfError, match=r"^the \.BTF type section \(\d+ bytes at 24\) runs past the end"):
        parse_btf(_patched(good, 12, "<I", len(good)))


def test_truncated_type_records() -> None:
    b = BtfBuilder()
    b.int_("int", 4, 32)
    b.composite(4, "s", 8, [("a", 1, 0, 0), ("b", 1, 32, 0)])
    good = b.build()
    type_len = struct.unpack_from("<I", good, 12)[0]
    # Shorten the type section (and move the strings along) so the struct's members are cut off.
    for cut, what in ((8, "in type 2 \\(struct\\)"), (type_len - 20, "in the header of type 2")):
        short = _patched(_patched(good, 12, "<I", type_len - cut), 16, "<I", type_len - cut)
        with pytest.raises(ElfError, match=rf"^the \.BTF type section is truncated {what}$"):
            parse_btf(short)


def test_unknown_kind_and_dangling_ids() -> None:
    b = BtfBuilder()
    b.int_("int", 4, 32)
    b.raw("odd", 25, 0, 0)
    with pytest.raises(ElfError, match=r"^the \.BTF section has type 2 of unknown kind 25$"):
        parse_btf(b.build())
    b = BtfBuilder()
    b.raw("zero", 0, 0, 0)
    with pytest.raises(ElfError, match=r"^the \.BTF section has type 1 of unknown kind 0$"):
        parse_btf(b.build())
    b = BtfBuilder()
    b.ref(2, 7)
    with pytest.raises(ElfError, match=r"^the \.BTF section has type 1 \(ptr\) referring to type 7, which does not "
                                       r"exist \(there are 2 types\)$"):
        parse_btf(b.build())
    b = BtfBuilder()
    b.raw("", 1, 0, 4, b.u32(32))
    b.types[0:4] = struct.pack("<I", 999)  # name offset past the strings
    with pytest.raises(ElfError, match=r"^the \.BTF section refers to string offset 999"):
        parse_btf(b.build())
    b = BtfBuilder()
    b.raw("f", 12, 7, 0)
    with pytest.raises(ElfError, match=r"^the \.BTF section has type 1 with unknown linkage 7$"):
        parse_btf(b.build())


def test_loops() -> None:
    b = BtfBuilder()
    b.ref(8, 2, "a")
    b.ref(8, 1, "b")
    with pytest.raises(ElfError, match=r"loop of typedefs or qualifiers"):
        parse_btf(b.build())
    b = BtfBuilder()
    b.ref(2, 1)  # a pointer to itself is legal BTF, but has no printable name
    btf = parse_btf(b.build())
    assert btf.size_of(1) == 8
    with pytest.raises(ElfError, match=r"loop of pointers"):
        btf.type_name(1)
    b = BtfBuilder()
    b.array(1, 0, 2)  # an array of itself
    btf = parse_btf(b.build())
    with pytest.raises(ElfError, match=r"loop"):
        btf.size_of(1)


def test_corrupting_a_real_section_gives_only_elf_errors(obj: Callable[[str], bytes]) -> None:
    elf = read_elf(obj("types"))
    section = elf.section(".BTF")
    assert section is not None
    good = elf.section_data(section)
    for pos in range(0, len(good), 5):
        for value in (0x00, 0xFF, 0x13):
            data = bytearray(good)
            data[pos] = value
            try:
                btf = parse_btf(bytes(data))
                for i in range(len(btf)):
                    btf.type_name(i)
            except ElfError:
                pass
