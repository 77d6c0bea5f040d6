"""A small ELF reader over `bytes`: header, sections, symbols and relocations.

Reads ELF32 and ELF64 in either byte order. Everything is parsed and checked by
`read_elf`, so an `ElfFile` never raises later; malformed input raises `ElfError`
(or its subclasses `NotElfError`, `NotBpfError`) with one sentence, never
`struct.error` or `IndexError`.
"""

from __future__ import annotations

import struct

from bee.errors import ElfError
from bee.records import Record  # not dataclasses: ~8 ms + 0.7 ms a class of bee run (docs/dev/startup.md)

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import ClassVar

EM_BPF = 247

ET_NONE, ET_REL, ET_EXEC, ET_DYN, ET_CORE = 0, 1, 2, 3, 4
ELF_TYPE_NAMES = {ET_NONE: "none", ET_REL: "relocatable", ET_EXEC: "executable", ET_DYN: "shared object",
                  ET_CORE: "core"}

SHT_NULL, SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_RELA = 0, 1, 2, 3, 4
SHT_NOBITS, SHT_REL, SHT_DYNSYM = 8, 9, 11

SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 0x1, 0x2, 0x4

STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION, STT_FILE = 0, 1, 2, 3, 4

SHN_UNDEF, SHN_LORESERVE, SHN_ABS, SHN_COMMON, SHN_XINDEX = 0, 0xFF00, 0xFFF1, 0xFFF2, 0xFFFF

MACHINE_NAMES = {
    3: "i386", 8: "MIPS", 20: "PowerPC", 21: "PowerPC64", 22: "s390", 40: "ARM", 62: "x86-64",
    183: "AArch64", 243: "RISC-V", 247: "BPF", 258: "LoongArch",
}


class NotElfError(ElfError):
    """The input does not start with the ELF magic."""


class NotBpfError(ElfError):
    """The input is an ELF file for another machine than BPF."""


class ElfHeader(Record):
    """The fields of the ELF file header that matter here."""

    bits: int  # 32 or 64
    endian: str  # struct byte-order character: "<" or ">"
    osabi: int
    type: int  # ET_*
    machine: int  # EM_*
    version: int
    entry: int
    flags: int
    shoff: int
    shentsize: int
    shnum: int  # after extended numbering is applied
    shstrndx: int  # after extended numbering is applied

    @property
    def machine_name(self) -> str:
        return MACHINE_NAMES.get(self.machine, f"machine {self.machine}")

    @property
    def type_name(self) -> str:
        return ELF_TYPE_NAMES.get(self.type, f"type {self.type:#x}")


class Section(Record):
    """One section header; `name` is resolved through the section-name string table."""

    index: int
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int

    @property
    def executable(self) -> bool:
        return bool(self.flags & SHF_EXECINSTR)

    @property
    def in_file(self) -> bool:
        """True when the section has bytes in the file (anything but SHT_NULL and SHT_NOBITS)."""
        return self.type not in (SHT_NULL, SHT_NOBITS)


class Symbol(Record):
    """One symbol table entry; `index` is its position in the symbol table."""

    index: int
    name: str
    value: int
    size: int
    info: int
    other: int
    shndx: int

    @property
    def bind(self) -> int:
        return self.info >> 4

    @property
    def type(self) -> int:
        return self.info & 0xF

    @property
    def visibility(self) -> int:
        return self.other & 0x3


class Relocation(Record):
    """One REL or RELA entry; `addend` is None for REL."""

    offset: int
    symbol: int  # index into the symbol table
    type: int
    addend: int | None


class RelocationSection(Record):
    """A REL/RELA section: `target` is the index of the section it patches (sh_info)."""

    section: Section
    target: int
    entries: tuple[Relocation, ...]


class ElfFile(Record):
    """A parsed ELF file; `data` is the whole file."""

    name: str
    header: ElfHeader
    sections: tuple[Section, ...]
    symbols: tuple[Symbol, ...]  # the SHT_SYMTAB symbols (empty when there is none)
    relocations: tuple[RelocationSection, ...]
    data: bytes

    _hidden: ClassVar[tuple[str, ...]] = ("data",)

    @property
    def endian(self) -> str:
        return self.header.endian

    def section(self, name: str) -> Section | None:
        """The first section called `name`, or None."""
        return next((s for s in self.sections if s.name == name), None)

    def section_data(self, section: Section) -> bytes:
        """The bytes of `section` (empty for SHT_NOBITS and SHT_NULL)."""
        if not section.in_file:
            return b""
        return self.data[section.offset:section.offset + section.size]

    def symbols_in(self, section: Section) -> tuple[Symbol, ...]:
        """The symbols defined in `section`, in symbol-table order."""
        return tuple(s for s in self.symbols if s.shndx == section.index)


# --- parsing -----------------------------------------------------------------------------------------

_IDENT = struct.Struct("4sBBBB8x")
_HEADER = {  # after e_ident
    32: "HHIIIIIHHHHHH",
    64: "HHIQQQIHHHHHH",
}
_SHDR = {32: "IIIIIIIIII", 64: "IIQQQQIIQQ"}
_SYM = {32: "IIIBBH", 64: "IBBHQQ"}
_REL = {32: "II", 64: "QQ"}
_RELA = {32: "IIi", 64: "QQq"}


def _machine_message(name: str, machine: int) -> str:
    what = MACHINE_NAMES.get(machine)
    target = what if what else f"machine {machine}"
    return f"{name} is an ELF file for {target}, not a BPF object"


def _read_header(data: bytes, name: str) -> ElfHeader:
    if len(data) < 4 or data[:4] != b"\x7fELF":
        raise NotElfError(f"{name} is not an ELF file")
    if len(data) < _IDENT.size:
        raise ElfError(f"{name} is truncated: its ELF identification needs 16 bytes, it has {len(data)}")
    _, klass, encoding, _version, osabi = _IDENT.unpack_from(data)
    bits = {1: 32, 2: 64}.get(klass)
    if bits is None:
        raise ElfError(f"{name} has an unknown ELF class {klass} (expected 1 for 32-bit or 2 for 64-bit)")
    endian = {1: "<", 2: ">"}.get(encoding)
    if endian is None:
        raise ElfError(f"{name} has an unknown ELF data encoding {encoding} (expected 1 or 2)")
    fmt = struct.Struct(endian + _HEADER[bits])
    if len(data) < _IDENT.size + fmt.size:
        raise ElfError(f"{name} is truncated: its ELF header needs {_IDENT.size + fmt.size} bytes, "
                       f"it has {len(data)}")
    (etype, machine, version, entry, _phoff, shoff, flags, _ehsize, _phentsize, _phnum,
     shentsize, shnum, shstrndx) = fmt.unpack_from(data, _IDENT.size)
    return ElfHeader(bits, endian, osabi, etype, machine, version, entry, flags, shoff, shentsize,
                     shnum, shstrndx)


def _string(table: bytes, offset: int, name: str, what: str) -> str:
    if offset >= len(table) and not (offset == 0 and not table):
        raise ElfError(f"{name}: {what} has a name offset {offset} outside its string table")
    end = table.find(b"\0", offset)
    if end < 0:
        end = len(table)
    return table[offset:end].decode("utf-8", errors="replace")


def _read_sections(data: bytes, header: ElfHeader, name: str) -> tuple[Section, ...]:
    if header.shoff == 0:
        return ()
    fmt = struct.Struct(header.endian + _SHDR[header.bits])
    if header.shentsize != fmt.size:
        raise ElfError(f"{name} has section headers of {header.shentsize} bytes; "
                       f"ELF{header.bits} needs {fmt.size}")
    if header.shoff + fmt.size > len(data):
        raise ElfError(f"{name} is truncated: its section headers start at {header.shoff}, "
                       f"past the end of the file ({len(data)} bytes)")
    raw0 = fmt.unpack_from(data, header.shoff)
    shnum = header.shnum if header.shnum else raw0[5]  # extended numbering: count in sh_size of section 0
    shstrndx = header.shstrndx if header.shstrndx != SHN_XINDEX else raw0[6]
    end = header.shoff + shnum * fmt.size
    if end > len(data):
        raise ElfError(f"{name} is truncated: its {shnum} section headers end at byte {end}, "
                       f"past the end of the file ({len(data)} bytes)")
    raws = list(fmt.iter_unpack(data[header.shoff:end]))
    for index, raw in enumerate(raws):
        sh_type, sh_offset, sh_size = raw[1], raw[4], raw[5]
        if sh_type not in (SHT_NULL, SHT_NOBITS) and sh_offset + sh_size > len(data):
            raise ElfError(f"{name} is truncated: section {index} ends at byte {sh_offset + sh_size}, "
                           f"past the end of the file ({len(data)} bytes)")
    if shnum and not 0 <= shstrndx < shnum:
        raise ElfError(f"{name} names section {shstrndx} as its section-name table, but has {shnum} sections")
    names = b""
    if shnum and shstrndx != SHN_UNDEF:
        s = raws[shstrndx]
        names = data[s[4]:s[4] + s[5]] if s[1] != SHT_NOBITS else b""
    return tuple(
        Section(index, _string(names, raw[0], name, f"section {index}") if names else "", *raw[1:])
        for index, raw in enumerate(raws)
    )


def _read_symbols(data: bytes, header: ElfHeader, sections: tuple[Section, ...], name: str
                  ) -> tuple[Symbol, ...]:
    symtab = next((s for s in sections if s.type == SHT_SYMTAB), None)
    if symtab is None:
        return ()
    fmt = struct.Struct(header.endian + _SYM[header.bits])
    if symtab.entsize not in (0, fmt.size):
        raise ElfError(f"{name}: symbol table {symtab.name} has entries of {symtab.entsize} bytes; "
                       f"ELF{header.bits} needs {fmt.size}")
    if not 0 <= symtab.link < len(sections):
        raise ElfError(f"{name}: symbol table {symtab.name} links to section {symtab.link}, which does not exist")
    strtab = sections[symtab.link]
    strings = data[strtab.offset:strtab.offset + strtab.size] if strtab.in_file else b""
    count = symtab.size // fmt.size
    raw = data[symtab.offset:symtab.offset + count * fmt.size]
    symbols = []
    for index, fields in enumerate(fmt.iter_unpack(raw)):
        if header.bits == 64:
            st_name, info, other, shndx, value, size = fields
        else:
            st_name, value, size, info, other, shndx = fields
        symbols.append(Symbol(index, _string(strings, st_name, name, f"symbol {index}"),
                              value, size, info, other, shndx))
    return tuple(symbols)


def _read_relocations(data: bytes, header: ElfHeader, sections: tuple[Section, ...], name: str
                      ) -> tuple[RelocationSection, ...]:
    result = []
    for section in sections:
        if section.type not in (SHT_REL, SHT_RELA):
            continue
        rela = section.type == SHT_RELA
        fmt = struct.Struct(header.endian + (_RELA if rela else _REL)[header.bits])
        if section.entsize not in (0, fmt.size):
            raise ElfError(f"{name}: relocation section {section.name} has entries of {section.entsize} "
                           f"bytes; ELF{header.bits} needs {fmt.size}")
        count = section.size // fmt.size
        shift, mask = (32, 0xFFFFFFFF) if header.bits == 64 else (8, 0xFF)
        entries = tuple(
            Relocation(f[0], f[1] >> shift, f[1] & mask, f[2] if rela else None)
            for f in fmt.iter_unpack(data[section.offset:section.offset + count * fmt.size])
        )
        result.append(RelocationSection(section, section.info, entries))
    return tuple(result)


def read_elf(data: bytes, name: str = "input", *, require_bpf: bool = True) -> ElfFile:
    """Parse an ELF file; `name` is how messages refer to it (a path or a reference).

    Raises NotElfError (no ELF magic), NotBpfError (`require_bpf` and e_machine is not
    EM_BPF) or ElfError (truncated or malformed headers, sections, symbols or relocations).
    """
    data = bytes(data)
    header = _read_header(data, name)
    if require_bpf and header.machine != EM_BPF:
        raise NotBpfError(_machine_message(name, header.machine))
    sections = _read_sections(data, header, name)
    symbols = _read_symbols(data, header, sections, name)
    relocations = _read_relocations(data, header, sections, name)
    return ElfFile(name, header, sections, symbols, relocations, data)
