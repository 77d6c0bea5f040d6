"""Byte builders for hand-made ELF files and BTF sections, for cases clang does not produce; and
`parse_btf_section`, the parsed BTF of an ELF file."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from bee.elf.btf import Btf, parse_btf
from bee.elf.elf import ElfFile

BTF_MAGIC = 0xEB9F


@dataclass
class BtfBuilder:
    """Append BTF records and strings; `build()` gives the bytes of a `.BTF` section."""

    endian: str = "<"
    types: bytearray = field(default_factory=bytearray)
    strings: bytearray = field(default_factory=lambda: bytearray(b"\0"))
    count: int = 0

    def s(self, text: str) -> int:
        if not text:
            return 0
        offset = len(self.strings)
        self.strings += text.encode() + b"\0"
        return offset

    def raw(self, name: str, kind: int, vlen: int, size_or_type: int, extra: bytes = b"", kind_flag: bool = False
            ) -> int:
        info = (int(kind_flag) << 31) | (kind << 24) | vlen
        self.types += struct.pack(self.endian + "III", self.s(name), info, size_or_type) + extra
        self.count += 1
        return self.count

    def u32(self, *values: int) -> bytes:
        return struct.pack(f"{self.endian}{len(values)}I", *values)

    def int_(self, name: str, size: int, bits: int, encoding: int = 0, offset: int = 0) -> int:
        return self.raw(name, 1, 0, size, self.u32((encoding << 24) | (offset << 16) | bits))

    def ref(self, kind: int, target: int, name: str = "") -> int:
        return self.raw(name, kind, 0, target)

    def array(self, elem: int, index: int, nelems: int) -> int:
        return self.raw("", 3, 0, 0, self.u32(elem, index, nelems))

    def composite(self, kind: int, name: str, size: int, members: list[tuple[str, int, int, int]]) -> int:
        """members: (name, type, bit offset, bitfield size); kind_flag is set when any bitfield size is given."""
        flag = any(m[3] for m in members)
        body = b"".join(self.u32(self.s(n), t, (bs << 24 | off) if flag else off) for n, t, off, bs in members)
        return self.raw(name, kind, len(members), size, body, flag)

    def enum(self, name: str, size: int, values: list[tuple[str, int]], signed: bool = False) -> int:
        body = b"".join(self.u32(self.s(n), v & 0xFFFFFFFF) for n, v in values)
        return self.raw(name, 6, len(values), size, body, signed)

    def enum64(self, name: str, size: int, values: list[tuple[str, int]], signed: bool = False) -> int:
        body = b""
        for n, v in values:
            v &= (1 << 64) - 1
            body += self.u32(self.s(n), v & 0xFFFFFFFF, v >> 32)
        return self.raw(name, 19, len(values), size, body, signed)

    def func(self, name: str, proto: int, linkage: int) -> int:
        return self.raw(name, 12, linkage, proto)

    def func_proto(self, ret: int, params: list[tuple[str, int]]) -> int:
        body = b"".join(self.u32(self.s(n), t) for n, t in params)
        return self.raw("", 13, len(params), ret, body)

    def var(self, name: str, target: int, linkage: int) -> int:
        return self.raw(name, 14, 0, target, self.u32(linkage))

    def datasec(self, name: str, size: int, entries: list[tuple[int, int, int]]) -> int:
        return self.raw(name, 15, len(entries), size, b"".join(self.u32(*e) for e in entries))

    def decl_tag(self, name: str, target: int, component: int) -> int:
        return self.raw(name, 17, 0, target, struct.pack(self.endian + "i", component))

    def build(self) -> bytes:
        header = struct.pack(self.endian + "HBBIIIII", BTF_MAGIC, 1, 0, 24, 0, len(self.types), len(self.types),
                             len(self.strings))
        return header + bytes(self.types) + bytes(self.strings)


@dataclass
class ElfSection:
    name: str
    type: int
    data: bytes = b""
    flags: int = 0
    link: int = 0
    info: int = 0
    entsize: int = 0
    align: int = 8


def build_elf(sections: list[ElfSection], *, bits: int = 64, endian: str = "<", machine: int = 247,
              etype: int = 1) -> bytes:
    """An ELF file with a NULL section, then `sections`, then `.shstrtab`; headers at the end."""
    ident = b"\x7fELF" + bytes([1 if bits == 32 else 2, 1 if endian == "<" else 2, 1, 0]) + bytes(8)
    header_fmt = endian + ("HHIIIIIHHHHHH" if bits == 32 else "HHIQQQIHHHHHH")
    ehsize = 16 + struct.calcsize(header_fmt)
    names = bytearray(b"\0")
    name_offsets = []
    for s in [*sections, ElfSection(".shstrtab", 3)]:
        name_offsets.append(len(names))
        names += s.name.encode() + b"\0"
    all_sections = [*sections, ElfSection(".shstrtab", 3, bytes(names), align=1)]
    body = bytearray()
    offsets = []
    for s in all_sections:
        while (ehsize + len(body)) % 8:
            body.append(0)
        offsets.append(ehsize + len(body))
        body += s.data
    while (ehsize + len(body)) % 8:
        body.append(0)
    shoff = ehsize + len(body)
    shdr_fmt = endian + ("IIIIIIIIII" if bits == 32 else "IIQQQQIIQQ")
    shdrs = struct.pack(shdr_fmt, *([0] * 10))
    for s, name_off, off in zip(all_sections, name_offsets, offsets, strict=True):
        shdrs += struct.pack(shdr_fmt, name_off, s.type, s.flags, 0, off, len(s.data), s.link, s.info, s.align,
                             s.entsize)
    header = struct.pack(header_fmt, etype, machine, 1, 0, 0, shoff, 0, ehsize, 0, 0,
                         struct.calcsize(shdr_fmt), len(all_sections) + 1, len(all_sections))
    return ident + header + bytes(body) + shdrs


def symbol(bits: int, endian: str, name: int, value: int, size: int, info: int, shndx: int) -> bytes:
    if bits == 64:
        return struct.pack(endian + "IBBHQQ", name, info, 0, shndx, value, size)
    return struct.pack(endian + "IIIBBH", name, value, size, info, 0, shndx)


def parse_btf_section(elf: ElfFile) -> Btf:
    """The parsed `.BTF` section of `elf` (which must have one)."""
    section = elf.section(".BTF")
    assert section is not None
    return parse_btf(elf.section_data(section))


def datasec_offset_fields(btf: Btf) -> dict[int, tuple[str, str]]:
    """Byte position (in the `.BTF` section) of each DATASEC variable's offset field → (DATASEC name,
    variable name): the places `.rel.BTF` entries patch."""
    fields = {}
    for datasec in btf.datasecs():
        for i, entry in enumerate(datasec.vars):
            position = btf.header.type_start + datasec.offset + 12 + 12 * i + 4  # the offset field
            fields[position] = (datasec.name, btf.get(entry.type_id).name)
    return fields
