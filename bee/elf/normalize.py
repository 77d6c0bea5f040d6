"""Make objects of bumblebee v0.0.13/14 loadable by libbpf: merge `.maps.<kind>` sections into `.maps`.

Objects of that era declare maps in `SEC(".maps.print")`, `SEC(".maps.counter")`,
`SEC(".maps.gauge")` (any `.maps.<suffix>`). libbpf 1.x only knows a section named
exactly `.maps` and rejects program relocations against the others ("bad map relo").
`merge_map_sections` rewrites such an object so that:

- ELF: one section named `.maps` holds every map definition. It is the existing `.maps`
  section when there is one (its maps keep their offsets), else the first `.maps.<kind>`
  section renamed; the other `.maps.<kind>` sections are appended to it one after another,
  each at its own alignment, and become empty, flag-less `SHT_PROGBITS` sections named
  `.bee.merged`. Section and symbol indexes do not change, so `sh_link`, `sh_info` and
  program relocations (which name maps by symbol index) stay valid; each map symbol gets
  the `st_shndx` of `.maps` and its offset there as `st_value`. Section symbols of the
  emptied sections stay where they are; a relocation against one is refused. The file is
  laid out anew: ELF header, sections in index order, section header table.
- BTF: the `.maps` DATASEC (the existing one, else the one of the renamed section)
  lists every map VAR at its final offset, with the merged section's size, as a static
  linker would write them; the other `.maps.<kind>` DATASECs keep their place, so every
  type id stays what `.BTF.ext` refers to, as `.bee.merged` DATASECs without variables
  whose size is that of the section they described. Strings are only appended. The
  `.rel.BTF` relocations follow the records they patch; those of the map variables are
  dropped, their values being written.

Measured with libbpf 1.1.2 on Linux 6.18: libbpf then opens the object as one that
declared its maps in `.maps`, and the kernel accepts its BTF. A DATASEC of size 0 whose
name matches no non-empty ELF section makes the open fail ("failed to determine size
from ELF"), hence the non-zero sizes; empty sections with unknown names are skipped.

The output each map feeds (the `<kind>` of its section) must be read from the original
bytes: the result no longer says which `.maps.<kind>` a map came from.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Callable

from bee.elf.btf import Btf, parse_btf
from bee.elf.btf_types import Datasec, Kind, Var
from bee.elf.elf import (
    ET_REL,
    SHT_NOBITS,
    SHT_PROGBITS,
    SHT_RELA,
    SHT_SYMTAB,
    STT_SECTION,
    ElfFile,
    Section,
    read_elf,
)
from bee.elf.maps import MAPS_SECTION, is_map_section
from bee.errors import ElfError

BTF_SECTION = ".BTF"
#: Name given to the emptied `.maps.<kind>` sections and to their emptied BTF DATASECs.
MERGED_NAME = ".bee.merged"

_EHDR = "16sHHIQQQIHHHHHH"  # ELF64 header
_SHDR = "IIQQQQIIQQ"  # ELF64 section header
_SYM = "IBBHQQ"  # ELF64 symbol
_BTF_HEADER = "HBBIIIII"
_BTF_HEADER_SIZE = 24
_ITEM = 12  # struct btf_type, struct btf_var_secinfo


MAX_ALIGNMENT = 1 << 16  # the largest section alignment the rewrite honours (clang writes at most 8)
MAX_NOBITS = 1 << 20  # the largest map section without file data the rewrite lays out


class MapMergeError(ElfError):
    """An object with `.maps.<kind>` sections that cannot be merged into `.maps` safely."""


def _align(value: int, alignment: int) -> int:
    alignment = max(alignment, 1)
    return -(-value // alignment) * alignment


def _extra_map_sections(elf: ElfFile) -> list[Section]:
    return [s for s in elf.sections if is_map_section(s.name) and s.name != MAPS_SECTION]


def _string_offset(table: bytearray, text: str) -> int:
    """Offset of NUL-terminated `text` in `table`, appended when absent (a tail of a longer string counts)."""
    raw = text.encode() + b"\0"
    found = table.find(raw)
    if found >= 0:
        return found
    if table and table[-1] != 0:
        table.append(0)
    found = len(table)
    table += raw
    return found


class _Merge:
    """The rewrite of one object; `run()` returns the new bytes."""

    def __init__(self, elf: ElfFile, name: str) -> None:
        self.elf = elf
        self.name = name
        self.endian = elf.endian
        self.extra = _extra_map_sections(elf)
        self.target = elf.section(MAPS_SECTION) or self.extra[0]
        self.leftovers = [s for s in self.extra if s.index != self.target.index]
        self.merged = [self.target, *self.leftovers]
        self.merged_indexes = {s.index for s in self.merged}
        self.leftover_indexes = {s.index for s in self.leftovers}
        self.bases: dict[int, int] = {}
        self.content = b""
        self.alignment = 1

    # --- checks --------------------------------------------------------------------------------------

    def _check(self) -> None:
        elf, name = self.elf, self.name
        if elf.header.bits != 64:
            raise MapMergeError(f"{name} is an ELF{elf.header.bits} file; only ELF64 BPF objects can have "
                                f"their map sections merged into {MAPS_SECTION}")
        if elf.header.type != ET_REL:
            raise MapMergeError(f"{name} is a BPF {elf.header.type_name} file, not a relocatable object, so its "
                                f"map sections cannot be merged into {MAPS_SECTION}")
        if elf.section(BTF_SECTION) is None:
            raise MapMergeError(f"{name}: section {self.extra[0].name} holds maps but the object has no "
                                f"{BTF_SECTION} section, so they cannot be merged into {MAPS_SECTION}")
        for rel in elf.relocations:
            if rel.target in self.leftover_indexes or (rel.target == self.target.index
                                                       and self.target.name != MAPS_SECTION):
                patched = elf.sections[rel.target]
                first = min((r.offset for r in rel.entries), default=0)
                owner = next((s.name for s in elf.symbols_in(patched)
                              if s.type != STT_SECTION and s.value <= first < s.value + max(s.size, 1)), None)
                what = f"map {owner} in section {patched.name}" if owner else f"section {patched.name}"
                raise MapMergeError(f"{name}: {what} has initialized values (map-in-map or program array, "
                                    f"relocated by {rel.section.name}), which cannot be merged into "
                                    f"{MAPS_SECTION}")
        referenced = {r.symbol for rel in elf.relocations for r in rel.entries}
        for sym in elf.symbols:
            if sym.type == STT_SECTION and sym.shndx in self.leftover_indexes and sym.index in referenced:
                section = elf.sections[sym.shndx].name
                raise MapMergeError(f"{name}: a relocation refers to section {section} itself rather than to "
                                    f"one of its maps, so it cannot be merged into {MAPS_SECTION}")

    # --- ELF -----------------------------------------------------------------------------------------

    def _check_layout(self) -> None:
        """MapMergeError for section alignments or empty-section sizes no compiler writes, which the
        rewrite would otherwise turn into gigabytes of padding."""
        for section in self.elf.sections:
            alignment = section.addralign
            if alignment > MAX_ALIGNMENT or alignment & (alignment - 1):
                raise MapMergeError(
                    f"{self.name} is damaged: section {section.name or section.index} asks for an alignment of "
                    f"{alignment} bytes (compilers write a power of two, at most {MAX_ALIGNMENT}); rebuild it")
            if section.type == SHT_NOBITS and section.index in self.merged_indexes and section.size > MAX_NOBITS:
                raise MapMergeError(
                    f"{self.name} is damaged: map section {section.name} says it is {section.size} bytes, more "
                    f"than {MAX_NOBITS >> 20} MiB of map definitions; rebuild it")

    def _layout_maps(self) -> None:
        self._check_layout()
        content = bytearray()
        for section in self.merged:
            base = _align(len(content), section.addralign)
            content += bytes(base - len(content))
            self.bases[section.index] = base
            content += bytes(section.size) if section.type == SHT_NOBITS else self.elf.section_data(section)
            self.alignment = max(self.alignment, section.addralign)
        self.content = bytes(content)

    def _symbols(self) -> tuple[int, bytes]:
        """(index of the symbol table section, its patched bytes)."""
        symtab = next((s for s in self.elf.sections if s.type == SHT_SYMTAB), None)
        if symtab is None:
            raise MapMergeError(f"{self.name} has map sections but no symbol table")
        fmt = struct.Struct(self.endian + _SYM)
        data = bytearray(self.elf.section_data(symtab))
        for sym in self.elf.symbols:
            if sym.shndx not in self.leftover_indexes or sym.type == STT_SECTION:
                continue
            st_name, info, other, _, _, size = fmt.unpack_from(data, sym.index * fmt.size)
            fmt.pack_into(data, sym.index * fmt.size, st_name, info, other, self.target.index,
                          self.bases[sym.shndx] + sym.value, size)
        return symtab.index, bytes(data)

    def _map_symbol(self, var: Var, datasec: Datasec) -> tuple[int, int]:
        """(section index, offset) of the ELF symbol of map `var`, preferring the section named like `datasec`."""
        candidates = [s for s in self.elf.symbols
                      if s.name == var.name and s.type != STT_SECTION and s.shndx in self.merged_indexes]
        candidates.sort(key=lambda s: self.elf.sections[s.shndx].name != datasec.name)
        if not candidates:
            raise MapMergeError(f"{self.name}: map {var.name} of section {datasec.name} has no ELF symbol in a "
                                f"map section, so it cannot be merged into {MAPS_SECTION}")
        return candidates[0].shndx, candidates[0].value

    # --- BTF -----------------------------------------------------------------------------------------

    def _btf(self, btf: Btf, raw: bytes) -> tuple[bytes, Callable[[int], int | None]]:
        """(new `.BTF` bytes, a function from old byte positions to new ones, None for dropped ones)."""
        header = btf.header
        datasecs = [d for d in btf.datasecs() if is_map_section(d.name)]
        by_name = {d.name: d for d in datasecs}
        for section in self.merged:
            if section.size and section.name not in by_name:
                raise MapMergeError(f"{self.name}: section {section.name} has no BTF DATASEC describing its maps, "
                                    f"so they cannot be merged into {MAPS_SECTION}")
        if not datasecs:
            raise MapMergeError(f"{self.name}: no BTF DATASEC describes the maps of section {self.extra[0].name}, "
                                f"so they cannot be merged into {MAPS_SECTION}")
        merged = by_name.get(MAPS_SECTION) or by_name.get(self.target.name) or datasecs[0]
        entries: list[tuple[int, int, int]] = []  # (offset, size, VAR type id)
        for datasec in datasecs:
            for entry in datasec.vars:
                var = btf.get(entry.type_id)
                if not isinstance(var, Var):
                    raise MapMergeError(f"{self.name}: section {datasec.name} lists BTF type {entry.type_id} "
                                        f"({var.kind.label}), which is not a map variable")
                shndx, value = self._map_symbol(var, datasec)
                offset = self.bases[shndx] + value
                if offset + entry.size > len(self.content):
                    raise MapMergeError(f"{self.name}: map {var.name} ({entry.size} bytes at {value} in "
                                        f"{self.elf.sections[shndx].name}) lies outside its section")
                entries.append((offset, entry.size, entry.type_id))
        entries.sort(key=lambda e: e[0])
        if len(entries) > 0xFFFF:
            raise MapMergeError(f"{self.name} declares {len(entries)} maps, more than one BTF DATASEC can list")

        strings = bytearray(btf.strings)
        maps_name = _string_offset(strings, MAPS_SECTION)
        emptied_name = _string_offset(strings, MERGED_NAME) if len(datasecs) > 1 else 0
        old_types = raw[header.type_start:header.type_start + header.type_len]
        u32x3 = struct.Struct(self.endian + "III")
        types = bytearray()
        starts: list[int] = []  # old record offsets, in order
        moves: list[tuple[int, int, bool]] = []  # (old offset, new offset, record rewritten)
        rewritten = {d.id for d in datasecs}
        for t in btf.types[1:]:
            starts.append(t.offset)
            moves.append((t.offset, len(types), t.id in rewritten))
            if t.id == merged.id:
                types += u32x3.pack(maps_name, int(Kind.DATASEC) << 24 | len(entries), len(self.content))
                for offset, size, type_id in entries:
                    types += u32x3.pack(type_id, offset, size)
            elif t.id in rewritten:
                emptied = self.elf.section(t.name)
                size = max(emptied.size if emptied is not None else 0, 1)  # the kernel rejects size 0
                types += u32x3.pack(emptied_name, int(Kind.DATASEC) << 24, size)
            else:
                types += old_types[t.offset:t.offset + t.record_len]

        extra_header = raw[_BTF_HEADER_SIZE:header.hdr_len]
        out = struct.pack(self.endian + _BTF_HEADER, header.magic, header.version, header.flags, header.hdr_len,
                          0, len(types), len(types), len(strings)) + extra_header + bytes(types) + bytes(strings)
        new_types_start = header.hdr_len
        new_str_start = header.hdr_len + len(types)

        def position(old: int) -> int | None:
            if header.str_start <= old < header.str_start + header.str_len:
                return old - header.str_start + new_str_start
            if not header.type_start <= old < header.type_start + header.type_len:
                return old if old < header.hdr_len else None
            within = old - header.type_start
            i = bisect.bisect_right(starts, within) - 1
            old_start, new_start, changed = moves[i]
            if changed and within - old_start >= _ITEM:
                return None  # a map variable's entry: its value is written, not relocated
            return new_types_start + new_start + within - old_start

        return out, position

    @staticmethod
    def _relocate(section: Section, data: bytes, endian: str, position: Callable[[int], int | None]) -> bytes:
        fmt = struct.Struct(endian + ("QQq" if section.type == SHT_RELA else "QQ"))
        out = bytearray()
        for fields in fmt.iter_unpack(data[:len(data) - len(data) % fmt.size]):
            new = position(fields[0])
            if new is not None:
                out += fmt.pack(new, *fields[1:])
        return bytes(out)

    # --- output --------------------------------------------------------------------------------------

    def run(self) -> bytes:
        self._check()
        elf = self.elf
        self._layout_maps()
        btf_section = elf.section(BTF_SECTION)
        assert btf_section is not None
        raw_btf = elf.section_data(btf_section)
        try:
            btf = parse_btf(raw_btf)
        except ElfError as exc:
            raise MapMergeError(f"{self.name}: {exc.message}") from exc
        new_btf, position = self._btf(btf, raw_btf)

        shstrndx = elf.header.shstrndx
        names = bytearray(elf.section_data(elf.sections[shstrndx]))
        maps_name = _string_offset(names, MAPS_SECTION)
        emptied_name = _string_offset(names, MERGED_NAME) if self.leftovers else 0
        symtab_index, symtab_data = self._symbols()

        shdr = struct.Struct(self.endian + _SHDR)
        raw_headers = [list(shdr.unpack_from(elf.data, elf.header.shoff + i * shdr.size))
                       for i in range(len(elf.sections))]
        contents: list[bytes] = [elf.section_data(s) for s in elf.sections]
        contents[self.target.index] = self.content
        header = raw_headers[self.target.index]
        header[0], header[1], header[8] = maps_name, SHT_PROGBITS, self.alignment
        for section in self.leftovers:
            header = raw_headers[section.index]
            header[0], header[1], header[2], header[8] = emptied_name, SHT_PROGBITS, 0, 1
            contents[section.index] = b""
        contents[shstrndx] = bytes(names)
        contents[symtab_index] = symtab_data
        contents[btf_section.index] = new_btf
        for rel in elf.relocations:
            if rel.target == btf_section.index:
                contents[rel.section.index] = self._relocate(rel.section, contents[rel.section.index],
                                                             self.endian, position)
        return self._write(raw_headers, contents, shdr)

    def _write(self, raw_headers: list[list[int]], contents: list[bytes], shdr: struct.Struct) -> bytes:
        elf = self.elf
        ehdr = struct.Struct(self.endian + _EHDR)
        fields = list(ehdr.unpack_from(elf.data))
        phnum = fields[10]
        if fields[5] or phnum:
            raise MapMergeError(f"{self.name} has program headers, which a relocatable BPF object never has")
        out = bytearray(elf.data[:max(fields[8], ehdr.size)])  # the ELF header as written (e_ehsize)
        for index in range(1, len(raw_headers)):
            header, data = raw_headers[index], contents[index]
            start = _align(len(out), header[8])
            out += bytes(start - len(out))
            header[4] = start
            if header[1] != SHT_NOBITS:
                header[5] = len(data)
                out += data
        shoff = _align(len(out), 8)
        out += bytes(shoff - len(out))
        for header in raw_headers:
            out += shdr.pack(*header)
        fields[6] = shoff
        ehdr.pack_into(out, 0, *fields)
        return bytes(out)


def needs_merge(elf: ElfFile) -> bool:
    """True when `elf` has a `.maps.<kind>` section, which libbpf 1.x cannot load."""
    return bool(_extra_map_sections(elf))


def merge_map_sections(data: bytes, name: str = "input") -> bytes:
    """Return `data` rewritten so that every map definition lives in one `.maps` section (see the module doc).

    `name` is how messages refer to the object. An object without `.maps.<kind>` sections is
    returned as is (the same object). The output is deterministic. Raises NotElfError,
    NotBpfError or ElfError for unreadable input, and MapMergeError (an ElfError) with one
    sentence naming the section or map when the merge cannot be done safely: no BTF, a
    `.maps.<kind>` section without DATASEC, a map without symbol, relocations that patch
    map definitions (map-in-map) or refer to a map section's own symbol.
    """
    elf = read_elf(data, name)
    if not needs_merge(elf):
        return data
    return _Merge(elf, name).run()

