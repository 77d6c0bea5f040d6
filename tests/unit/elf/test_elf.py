"""bee.elf.elf: the ELF reader on compiled objects, hand-made ELF32/ELF64 files in both byte orders, and bad input."""

from __future__ import annotations

import contextlib
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from bee.elf.elf import (
    EM_BPF,
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHT_PROGBITS,
    SHT_REL,
    SHT_RELA,
    SHT_STRTAB,
    SHT_SYMTAB,
    STB_GLOBAL,
    STT_FUNC,
    NotBpfError,
    NotElfError,
    read_elf,
)
from bee.errors import ElfError
from tests.helpers import require
from tests.unit.elf.builders import ElfSection, build_elf, symbol


def _sample(bits: int, endian: str, machine: int = EM_BPF) -> bytes:
    strtab = b"\0prog\0"
    syms = symbol(bits, endian, 0, 0, 0, 0, 0) + symbol(bits, endian, 1, 8, 16, (STB_GLOBAL << 4) | STT_FUNC, 1)
    rel_fmt = endian + ("II" if bits == 32 else "QQ")
    rela_fmt = endian + ("IIi" if bits == 32 else "QQq")
    info = (1 << 8 | 1) if bits == 32 else (1 << 32 | 1)
    symsize = 16 if bits == 32 else 24
    return build_elf([
        ElfSection("xdp", SHT_PROGBITS, bytes(range(32)), SHF_ALLOC | SHF_EXECINSTR),  # 1
        ElfSection(".strtab", SHT_STRTAB, strtab, align=1),  # 2
        ElfSection(".symtab", SHT_SYMTAB, syms, link=2, info=1, entsize=symsize),  # 3
        ElfSection(".relxdp", SHT_REL, struct.pack(rel_fmt, 8, info), link=3, info=1),  # 4
        ElfSection(".relaxdp", SHT_RELA, struct.pack(rela_fmt, 16, info, -4), link=3, info=1),  # 5
    ], bits=bits, endian=endian, machine=machine)


@pytest.mark.parametrize("bits", [32, 64])
@pytest.mark.parametrize("endian", ["<", ">"])
def test_hand_made_elf_in_every_class_and_byte_order(bits: int, endian: str) -> None:
    elf = read_elf(_sample(bits, endian))
    assert (elf.header.bits, elf.header.endian, elf.header.machine, elf.header.type) == (bits, endian, EM_BPF, 1)
    assert [s.name for s in elf.sections] == ["", "xdp", ".strtab", ".symtab", ".relxdp", ".relaxdp", ".shstrtab"]
    xdp = elf.section("xdp")
    assert xdp is not None and xdp.executable and xdp.index == 1
    assert elf.section_data(xdp) == bytes(range(32))
    assert elf.section("missing") is None
    prog = elf.symbols[1]
    assert (prog.name, prog.value, prog.size, prog.bind, prog.type, prog.shndx) == ("prog", 8, 16, STB_GLOBAL,
                                                                                     STT_FUNC, 1)
    assert elf.symbols_in(xdp) == (prog,)
    rel, rela = elf.relocations
    assert rel.target == 1 and rel.section.name == ".relxdp"
    assert [(r.offset, r.symbol, r.type, r.addend) for r in rel.entries] == [(8, 1, 1, None)]
    assert [(r.offset, r.symbol, r.type, r.addend) for r in rela.entries] == [(16, 1, 1, -4)]


def test_compiled_object_has_the_sections_of_its_source(compiled: Callable[[str], Path]) -> None:
    elf = read_elf(compiled("prefix").read_bytes())
    names = {s.name for s in elf.sections}
    assert {".text", "xdp", "tc", "license", ".maps", ".BTF", ".BTF.ext", ".symtab"} <= names


def test_compiled_object_matches_readelf(compiled: Callable[[str], Path]) -> None:
    path = compiled("prefix")
    elf = read_elf(path.read_bytes(), path.name)
    readelf = shutil.which("readelf") or shutil.which("llvm-readelf")
    require(readelf is not None, "needs readelf (binutils) or llvm-readelf to compare with")
    assert readelf is not None
    out = subprocess.run([readelf, "-W", "-S", str(path)], capture_output=True, text=True, check=True).stdout
    for section in elf.sections[1:]:
        line = next(ln for ln in out.splitlines() if f"] {section.name} " in ln + " ")
        assert f"{section.offset:06x} {section.size:06x}" in line, line
    syms = subprocess.run([readelf, "-W", "-s", str(path)], capture_output=True, text=True, check=True).stdout
    funcs = {ln.split()[-1] for ln in syms.splitlines() if " FUNC " in ln}
    assert funcs == {s.name for s in elf.symbols if s.type == STT_FUNC}


def test_relocations_of_a_compiled_program_point_at_map_symbols(obj: Callable[[str], bytes]) -> None:
    elf = read_elf(obj("section"))
    target = elf.section("kretprobe/tcp_v4_connect")
    assert target is not None
    (relsec,) = [r for r in elf.relocations if r.target == target.index]
    names = {elf.symbols[r.symbol].name for r in relsec.entries}
    assert {"sockets", "connections", "sockets_ext", "gauge_but_counted", "events"} <= names


def test_big_endian_object(obj: Callable[[str], bytes]) -> None:
    elf = read_elf(obj("section_be"))
    assert elf.endian == ">"
    assert elf.header.machine == EM_BPF
    assert any(s.name == "kprobe/tcp_v4_connect" for s in elf.sections)


# --- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\x7fEL", b"hello world, this is not an ELF at all", b"MZ\x90\x00" * 20])
def test_not_elf(data: bytes) -> None:
    with pytest.raises(NotElfError, match=r"^prog\.o is not an ELF file$"):
        read_elf(data, "prog.o")


def test_default_name_is_input() -> None:
    with pytest.raises(NotElfError, match=r"^input is not an ELF file$"):
        read_elf(b"nope")


def test_host_executable_is_not_bpf() -> None:
    data = Path(shutil.which("true") or "/bin/true").resolve().read_bytes()
    machine = read_elf(data, "/bin/true", require_bpf=False).header.machine_name
    with pytest.raises(NotBpfError, match=rf"^/bin/true is an ELF file for {machine}, not a BPF object$") as info:
        read_elf(data, "/bin/true")
    assert isinstance(info.value, ElfError)
    assert machine in ("x86-64", "AArch64", "s390", "PowerPC64", "RISC-V")


@pytest.mark.parametrize(("machine", "label"), [(183, "AArch64"), (40, "ARM"), (243, "RISC-V"), (20, "PowerPC"),
                                                (22, "s390"), (3, "i386"), (9999, "machine 9999")])
def test_other_machines_are_named(machine: int, label: str) -> None:
    with pytest.raises(NotBpfError, match=rf"^x\.o is an ELF file for {label}, not a BPF object$"):
        read_elf(_sample(64, "<", machine=machine), "x.o")


def test_require_bpf_false_reads_any_machine() -> None:
    assert read_elf(_sample(64, "<", machine=62), require_bpf=False).header.machine_name == "x86-64"


@pytest.mark.parametrize("keep", [5, 16, 30, 63])
def test_truncated_header(keep: int) -> None:
    with pytest.raises(ElfError, match=r"^a\.o is truncated: its ELF (identification|header) needs \d+ bytes, "
                                       rf"it has {keep}$"):
        read_elf(_sample(64, "<")[:keep], "a.o")


def test_truncated_section_headers() -> None:
    data = _sample(64, "<")
    with pytest.raises(ElfError, match=r"^a\.o is truncated: its \d+ section headers end at byte \d+, past the end"):
        read_elf(data[:-10], "a.o")


def test_truncated_section_data() -> None:
    data = bytearray(_sample(64, "<"))
    # Make section 1 claim more bytes than the file has: sh_size is at offset 32 of its header.
    shoff = struct.unpack_from("<Q", data, 40)[0]
    struct.pack_into("<Q", data, shoff + 64 + 32, 1 << 20)
    with pytest.raises(ElfError, match=r"^a\.o is truncated: section 1 ends at byte \d+, past the end of the file"):
        read_elf(bytes(data), "a.o")


@pytest.mark.parametrize(("offset", "value", "message"), [
    (4, 3, r"^a\.o has an unknown ELF class 3 \(expected 1 for 32-bit or 2 for 64-bit\)$"),
    (5, 9, r"^a\.o has an unknown ELF data encoding 9 \(expected 1 or 2\)$"),
])
def test_bad_identification(offset: int, value: int, message: str) -> None:
    data = bytearray(_sample(64, "<"))
    data[offset] = value
    with pytest.raises(ElfError, match=message):
        read_elf(bytes(data), "a.o")


def test_bad_section_header_size() -> None:
    data = bytearray(_sample(64, "<"))
    struct.pack_into("<H", data, 58, 40)  # e_shentsize
    with pytest.raises(ElfError, match=r"^a\.o has section headers of 40 bytes; ELF64 needs 64$"):
        read_elf(bytes(data), "a.o")


def test_bad_section_name_table_index() -> None:
    data = bytearray(_sample(64, "<"))
    struct.pack_into("<H", data, 62, 99)  # e_shstrndx
    with pytest.raises(ElfError, match=r"^a\.o names section 99 as its section-name table, but has 7 sections$"):
        read_elf(bytes(data), "a.o")


def test_garbage_after_the_magic_never_leaks_low_level_errors() -> None:
    base = _sample(64, "<")
    for cut in range(0, len(base), 7):
        for flip in (0x00, 0xFF):
            data = bytearray(base[:cut])
            if len(data) > 20:
                data[20:] = bytes([flip]) * (len(data) - 20)
            with contextlib.suppress(ElfError):
                read_elf(bytes(data))
