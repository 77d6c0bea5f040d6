"""bee.elf.normalize: `.maps.<kind>` sections merged into `.maps` (compiled and hand-made objects, bad input)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from bee.elf import load_spec, read_elf
from bee.elf.btf import Btf
from bee.elf.btf_types import Datasec, Var
from bee.elf.elf import (
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHF_WRITE,
    SHT_PROGBITS,
    SHT_REL,
    SHT_STRTAB,
    SHT_SYMTAB,
    STB_GLOBAL,
    STB_LOCAL,
    STT_FUNC,
    STT_OBJECT,
    STT_SECTION,
)
from bee.elf.maps import MAPS_SECTION
from bee.elf.normalize import MERGED_NAME, MapMergeError, merge_map_sections, needs_merge
from bee.errors import ElfError
from tests.unit.elf.builders import BtfBuilder, ElfSection, build_elf, datasec_offset_fields, parse_btf_section, symbol
from tests.unit.elf.oracle import bpftool_dump

BPFTOOL = shutil.which("bpftool") or next((p for p in ("/usr/sbin/bpftool", "/sbin/bpftool") if os.access(p, os.X_OK)),
                                          None)
# legacy_opensnoop: only `.maps.print` (renamed to `.maps`); legacy_maps: `.maps` first, then
# `.maps.counter`, `.maps.gauge`, `.maps.print`; spec_section: `.maps.*` sections before `.maps`, two
# maps in one section, and an unknown suffix (`.maps.custom`).
SOURCES_TO_MERGE = ("legacy_opensnoop", "legacy_maps", "spec_section")


def _map_datasecs(btf: Btf) -> list[Datasec]:
    return [d for d in btf.datasecs() if d.name == MAPS_SECTION or d.name.startswith(MAPS_SECTION + ".")]


def _map_fields(data: bytes) -> dict[str, tuple[object, ...]]:
    spec = load_spec(data)
    return {m.name: (m.map_type, m.max_entries, m.key_size, m.value_size, m.key_type_id, m.value_type_id,
                     m.var_type_id, m.def_type_id, m.symbol_size, m.inner_type_id) for m in spec.maps}


# --- compiled objects ---------------------------------------------------------------------------------


def test_objects_without_map_sections_are_returned_as_they_are(build: Callable[[str], bytes]) -> None:
    data = build("lb_ringbuf")  # maps in `.maps` only
    assert not needs_merge(read_elf(data))
    assert merge_map_sections(data) is data
    merged = merge_map_sections(build("legacy_maps"))
    assert merge_map_sections(merged) is merged


@pytest.mark.parametrize("name", SOURCES_TO_MERGE)
def test_merged_object_declares_the_same_maps_and_programs(build: Callable[[str], bytes], name: str) -> None:
    data = build(name)
    assert needs_merge(read_elf(data))
    merged = merge_map_sections(data, f"{name}.o")
    assert _map_fields(merged) == _map_fields(data)
    assert {m.section for m in load_spec(merged).maps} == {MAPS_SECTION}
    before, after = load_spec(data), load_spec(merged)
    assert [(p.function, p.section, p.insn_count, p.offset) for p in after.programs] == [
        (p.function, p.section, p.insn_count, p.offset) for p in before.programs]
    assert after.license == before.license


@pytest.mark.parametrize("name", SOURCES_TO_MERGE)
def test_one_maps_section_holds_every_map_symbol(build: Callable[[str], bytes], name: str) -> None:
    data = build(name)
    original, elf = read_elf(data), read_elf(merge_map_sections(data))
    assert len(elf.sections) == len(original.sections)  # indexes are kept: sh_link/sh_info stay valid
    maps = [s for s in elf.sections if s.name == MAPS_SECTION]
    assert len(maps) == 1
    section = maps[0]
    assert not [s for s in elf.sections if s.name.startswith(MAPS_SECTION + ".")]
    moved = [s for s in original.sections if s.name.startswith(MAPS_SECTION) and s.index != section.index]
    for old in moved:
        emptied = elf.sections[old.index]
        assert (emptied.name, emptied.type, emptied.size, emptied.flags) == (MERGED_NAME, SHT_PROGBITS, 0, 0)
    originals = [s for s in original.sections if s.name.startswith(MAPS_SECTION)]
    assert section.size >= sum(s.size for s in originals)
    assert section.flags == SHF_WRITE | SHF_ALLOC and section.addralign == 8
    assert elf.section_data(section) == bytes(section.size)  # BTF-defined maps are all zero bytes

    names = {m.name for m in load_spec(data).maps}
    symbols = sorted((s for s in elf.symbols if s.name in names), key=lambda s: s.value)
    assert [s.name for s in symbols] != [] and {s.name for s in symbols} == names
    assert all(s.shndx == section.index for s in symbols)
    assert all(s.value % 8 == 0 for s in symbols)
    for left, right in zip(symbols, symbols[1:], strict=False):
        assert left.value + left.size <= right.value
    assert symbols[-1].value + symbols[-1].size <= section.size
    # everything else in the symbol table is untouched
    for old, new in zip(original.symbols, elf.symbols, strict=True):
        if old.name not in names:
            assert old == new


@pytest.mark.parametrize("name", SOURCES_TO_MERGE)
def test_program_relocations_still_name_the_maps(build: Callable[[str], bytes], name: str) -> None:
    data = build(name)
    original, elf = read_elf(data), read_elf(merge_map_sections(data))
    maps_index = next(s.index for s in elf.sections if s.name == MAPS_SECTION)
    programs = [r for r in elf.relocations if elf.sections[r.target].executable]
    assert programs
    for old, new in zip([r for r in original.relocations if original.sections[r.target].executable], programs,
                        strict=True):
        assert old.entries == new.entries
        for entry in new.entries:
            target = elf.symbols[entry.symbol]
            assert target.name == original.symbols[entry.symbol].name
            if target.type == STT_OBJECT:
                assert target.shndx == maps_index


@pytest.mark.parametrize("name", SOURCES_TO_MERGE)
def test_btf_has_one_maps_datasec_at_the_symbols_and_stable_type_ids(build: Callable[[str], bytes],
                                                                      name: str) -> None:
    data = build(name)
    original, elf = read_elf(data), read_elf(merge_map_sections(data))
    old_btf, btf = parse_btf_section(original), parse_btf_section(elf)
    assert len(btf.types) == len(old_btf.types)
    rewritten = {d.id for d in _map_datasecs(old_btf)}
    for old, new in zip(old_btf.types, btf.types, strict=True):
        if old.id not in rewritten:  # same record, maybe at another byte offset
            assert new.replace(offset=0) == old.replace(offset=0)

    maps = [d for d in btf.datasecs() if d.name == MAPS_SECTION]
    assert len(maps) == 1 and maps[0].id in rewritten
    datasec = maps[0]
    section = elf.section(MAPS_SECTION)
    assert section is not None
    assert datasec.size == section.size
    symbols = {s.name: s for s in elf.symbols_in(section)}
    listed = []
    for entry in datasec.vars:
        var = btf.get(entry.type_id)
        assert isinstance(var, Var)
        assert (entry.offset, entry.size) == (symbols[var.name].value, symbols[var.name].size)
        listed.append(var.id)
    assert sorted(listed) == sorted(v.type_id for d in _map_datasecs(old_btf) for v in d.vars)
    assert [v.offset for v in datasec.vars] == sorted(v.offset for v in datasec.vars)
    others = [t for t in btf.types if t.id in rewritten and t.id != datasec.id]
    assert len(others) == len(rewritten) - 1
    for other in others:
        assert isinstance(other, Datasec)
        assert (other.name, other.vars) == (MERGED_NAME, ()) and other.size > 0  # libbpf needs a size


@pytest.mark.parametrize("name", SOURCES_TO_MERGE)
def test_btf_relocations_follow_their_records(build: Callable[[str], bytes], name: str) -> None:
    """`.rel.BTF` patches DATASEC variable offsets: the maps' are written now, the others still point right."""
    data = build(name)
    elf = read_elf(merge_map_sections(data))
    btf_section = elf.section(".BTF")
    assert btf_section is not None
    fields = {position: var for position, (_, var) in datasec_offset_fields(parse_btf_section(elf)).items()}
    relocations = [r for r in elf.relocations if r.target == btf_section.index]
    assert len(relocations) == 1
    map_names = {m.name for m in load_spec(data).maps}
    entries = relocations[0].entries
    assert entries and not map_names & {elf.symbols[e.symbol].name for e in entries}
    for entry in entries:
        assert fields[entry.offset] == elf.symbols[entry.symbol].name


@pytest.mark.bpftool
@pytest.mark.parametrize("name", SOURCES_TO_MERGE)
def test_bpftool_reads_the_merged_btf(build: Callable[[str], bytes], tmp_path: Path, name: str) -> None:
    assert BPFTOOL is not None
    path = tmp_path / f"{name}.o"
    path.write_bytes(merge_map_sections(build(name)))
    proc = subprocess.run([BPFTOOL, "btf", "dump", "file", str(path)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == bpftool_dump(parse_btf_section(read_elf(path.read_bytes())))
    assert "DATASEC '.maps' size=" in proc.stdout


def test_maps_of_a_renamed_section_keep_their_order(build: Callable[[str], bytes]) -> None:
    data = build("legacy_opensnoop")
    merged = merge_map_sections(data)
    assert [(m.name, m.section, m.symbol_offset) for m in load_spec(merged).maps] == [("events", ".maps", 0)]
    section, renamed = read_elf(merged).section(MAPS_SECTION), read_elf(data).section(".maps.print")
    assert section is not None and renamed is not None
    assert section.index == renamed.index


def test_an_existing_maps_section_stays_first(build: Callable[[str], bytes]) -> None:
    merged = load_spec(merge_map_sections(build("spec_section")))
    assert [(m.name, m.symbol_offset) for m in merged.maps] == [
        ("sockets", 0), ("events", 32), ("sockets_ext", 56), ("connections", 88), ("gauge_but_counted", 120),
        ("settings", 152)]


def test_output_is_deterministic(build: Callable[[str], bytes]) -> None:
    data = build("legacy_maps")
    assert merge_map_sections(data, "a.o") == merge_map_sections(bytes(data), "b.o")


def test_big_endian_objects_are_merged(obj: Callable[[str], bytes]) -> None:
    data = obj("legacy_maps_be")
    merged = merge_map_sections(data)
    assert read_elf(merged).endian == ">"
    assert _map_fields(merged) == _map_fields(data)
    assert {m.section for m in load_spec(merged).maps} == {MAPS_SECTION}


def test_map_in_map_definitions_are_refused(build: Callable[[str], bytes]) -> None:
    with pytest.raises(MapMergeError, match=r"^mim\.o: map outer in section \.maps\.counter has initialized values "
                                            r".*relocated by \.rel\.maps\.counter.*cannot be merged into \.maps$"):
        merge_map_sections(build("legacy_map_in_map"), "mim.o")


def test_objects_without_btf_are_refused(build: Callable[[str], bytes]) -> None:
    data = build("legacy_opensnoop_nobtf")  # legacy_opensnoop.c compiled with -g0
    with pytest.raises(ElfError, match=r"^nobtf\.o: section \.maps\.print holds maps but the object has no "
                                       r"\.BTF section"):
        merge_map_sections(data, "nobtf.o")


# --- hand-made objects ----------------------------------------------------------------------------------


def _handmade(endian: str = "<", *, section_symbol: bool = False, counter_datasec: bool = True,
              bits: int = 64) -> bytes:
    """A program relocated against `events` (`.maps.print`) and `totals` (`.maps.counter`), or against the
    section symbol of `.maps.counter` instead of `events` with `section_symbol`."""
    b = BtfBuilder(endian)
    int_id = b.int_("int", 4, 32, 1)
    defs = {}
    for map_name, map_type in (("events", 27), ("totals", 1)):
        pointer = b.ref(2, b.array(int_id, int_id, map_type))
        defs[map_name] = b.var(map_name, b.composite(4, "", 8, [("type", pointer, 0, 0)]), 1)
    b.datasec(".maps.print", 0, [(defs["events"], 0, 8)])
    if counter_datasec:
        b.datasec(".maps.counter", 0, [(defs["totals"], 0, 8)])
    strtab = b"\0events\0totals\0prog\0"
    syms = (symbol(bits, endian, 0, 0, 0, 0, 0)
            + symbol(bits, endian, 0, 0, 0, STB_LOCAL << 4 | STT_SECTION, 3)
            + symbol(bits, endian, 1, 0, 8, STB_GLOBAL << 4 | STT_OBJECT, 2)
            + symbol(bits, endian, 8, 0, 8, STB_GLOBAL << 4 | STT_OBJECT, 3)
            + symbol(bits, endian, 15, 0, 32, STB_GLOBAL << 4 | STT_FUNC, 1))
    rel = endian + ("QQ" if bits == 64 else "II")
    info = (lambda sym: sym << 32 | 1) if bits == 64 else (lambda sym: sym << 8 | 1)
    rels = struct.pack(rel, 0, info(1 if section_symbol else 2)) + struct.pack(rel, 16, info(3))
    return build_elf([
        ElfSection("tracepoint/syscalls/sys_enter_openat", SHT_PROGBITS, bytes(32), SHF_ALLOC | SHF_EXECINSTR),
        ElfSection(".maps.print", SHT_PROGBITS, bytes(8), SHF_WRITE | SHF_ALLOC),
        ElfSection(".maps.counter", SHT_PROGBITS, bytes(8), SHF_WRITE | SHF_ALLOC),
        ElfSection(".strtab", SHT_STRTAB, strtab, align=1),
        ElfSection(".symtab", SHT_SYMTAB, syms, link=4, info=2, entsize=24 if bits == 64 else 16),
        ElfSection(".reltracepoint/syscalls/sys_enter_openat", SHT_REL, rels, link=5, info=1,
                   entsize=16 if bits == 64 else 8),
        ElfSection(".BTF", SHT_PROGBITS, b.build(), align=4),
    ], bits=bits, endian=endian)


@pytest.mark.parametrize("endian", ["<", ">"])
def test_handmade_object_in_both_byte_orders(endian: str) -> None:
    data = _handmade(endian)
    merged = merge_map_sections(data)
    spec = load_spec(merged)
    assert spec.endian == ("little" if endian == "<" else "big")
    assert [(m.name, m.section, m.map_type, m.symbol_offset) for m in spec.maps] == [
        ("events", ".maps", 27, 0), ("totals", ".maps", 1, 8)]
    elf = read_elf(merged)
    assert [s.name for s in elf.sections][1:4] == ["tracepoint/syscalls/sys_enter_openat", ".maps", MERGED_NAME]
    btf = parse_btf_section(elf)
    assert [(d.name, d.size, [(v.offset, v.size) for v in d.vars]) for d in btf.datasecs()] == [
        (".maps", 16, [(0, 8), (8, 8)]), (MERGED_NAME, 8, [])]
    # the unreferenced section symbol keeps pointing at the emptied section
    assert (elf.symbols[1].shndx, elf.symbols[1].value) == (3, 0)
    assert elf.symbols[3].shndx == 2 and elf.symbols[3].value == 8


def test_relocations_against_a_map_section_itself_are_refused() -> None:
    with pytest.raises(MapMergeError, match=r"^x\.o: a relocation refers to section \.maps\.counter itself"):
        merge_map_sections(_handmade(section_symbol=True), "x.o")


def test_a_map_section_without_datasec_is_refused() -> None:
    with pytest.raises(MapMergeError, match=r"^x\.o: section \.maps\.counter has no BTF DATASEC"):
        merge_map_sections(_handmade(counter_datasec=False), "x.o")


def test_elf32_is_refused() -> None:
    with pytest.raises(MapMergeError, match=r"^x\.o is an ELF32 file"):
        merge_map_sections(_handmade(bits=32), "x.o")
