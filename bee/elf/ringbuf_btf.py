"""`untype_ring_buffers`: the BTF of an object's ring buffers rewritten so that libbpf creates them at once.

The kernel refuses a RINGBUF map created with a BTF key or value type (EINVAL: a ring buffer has
no key nor value). Bumblebee-style programs declare the event type with `__type(value, struct
event)`, so libbpf 1.x first creates the map with that type id, the kernel allocates the whole
ring and rejects it, and libbpf retries without BTF ("Retrying without BTF"): twice the work for
the largest map of the object (about 5 ms for 16 MiB, measured on Linux 6.18 with libbpf 1.1.2),
and libbpf has no setter for a map's BTF type ids.

The rewrite drops the `key` and `value` members from the BTF struct that defines each RINGBUF
map, which is what `struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, N); }`
compiles to; libbpf then sees key and value size 0 and no type ids. Only the `.BTF` section's
bytes change, and its size stays the same: the type section shrinks by 12 bytes per dropped
member, and as many NUL bytes end the string section, where they name nothing. Type ids and
string offsets do not change (`.BTF.ext` refers to both), the unreferenced event type stays, and
the `.rel.BTF` entries that patch records after a shortened struct follow them.

bee decodes events with the types read from the original bytes (`bee.elf.spec`), never from
what libbpf or the kernel keep.
"""

from __future__ import annotations

import struct

from bee.elf.btf import Btf, parse_btf
from bee.elf.btf_types import Array, Ptr, Struct, Var
from bee.elf.elf import SHT_RELA, ElfFile, Section, read_elf
from bee.elf.maps import BPF_MAP_TYPE_RINGBUF, is_map_section

BTF_SECTION = ".BTF"
_ITEM = 12  # bytes of a BTF type header and of a struct member record
_HEADER = "HBBIIIII"
_REMOVED_MEMBERS = ("key", "value")


def _ring_buffer_structs(btf: Btf) -> dict[int, tuple[Struct, tuple[int, ...]]]:
    """{struct id: (struct, indexes of its `key`/`value` members)} of the RINGBUF map definitions."""
    found: dict[int, tuple[Struct, tuple[int, ...]]] = {}
    for datasec in btf.datasecs():
        if not is_map_section(datasec.name):
            continue
        for entry in datasec.vars:
            var = btf.types[entry.type_id] if 0 <= entry.type_id < len(btf.types) else None
            definition = btf.resolve(var.type_id) if isinstance(var, Var) else None
            if not isinstance(definition, Struct) or definition.id in found:
                continue
            drop = tuple(i for i, m in enumerate(definition.members) if m.name in _REMOVED_MEMBERS)
            if drop and _map_type(btf, definition) == BPF_MAP_TYPE_RINGBUF:
                found[definition.id] = (definition, drop)
    return found


def _map_type(btf: Btf, definition: Struct) -> int | None:
    """The `__uint(type, N)` of a map definition, or None when it has none (or it is malformed)."""
    for m in definition.members:
        if m.name == "type":
            ptr = btf.resolve(m.type_id)
            array = btf.resolve(ptr.type_id) if isinstance(ptr, Ptr) else None
            return array.nelems if isinstance(array, Array) else None
    return None


def _overlaps_another(elf: ElfFile, section: Section) -> bool:
    """True when the file bytes of `section` overlap those of another section (never so in compiler output)."""
    start, end = section.offset, section.offset + section.size
    return any(other.index != section.index and other.in_file and other.size
               and other.offset < end and start < other.offset + other.size for other in elf.sections)


def untype_ring_buffers(data: bytes, name: str = "input", *, elf: ElfFile | None = None,
                        btf: Btf | None = None) -> bytes:
    """Return `data` with the `key`/`value` members of its RINGBUF map definitions removed from `.BTF`.

    `elf` and `btf`, when given, must be the parse of `data` and of its `.BTF` section (as in
    `ObjectSpec`), which saves parsing again. An object without such ring buffers, or whose
    `.BTF` is not laid out as compilers write it (types, then strings, up to the end of the
    section; no other section's bytes overlapping it or its relocations) or has a `.rel.BTF`
    entry inside a removed member, is returned as is (the same object): libbpf then still loads
    it, retrying without BTF. Raises NotElfError, NotBpfError or ElfError only for input that
    `read_elf`/`parse_btf` reject.
    """
    if elf is None:
        elf = read_elf(data, name)
    section = elf.section(BTF_SECTION)
    if section is None or elf.header.bits != 64:
        return data
    raw = elf.section_data(section)
    if btf is None:
        btf = parse_btf(raw)
    structs = _ring_buffer_structs(btf)
    header = btf.header
    if (not structs or header.type_off + header.type_len != header.str_off
            or header.hdr_len + header.str_off + header.str_len != len(raw)):
        return data

    endian = btf.endian
    types = raw[header.type_start:header.type_start + header.type_len]
    info = struct.Struct(endian + "I")
    new_types = bytearray()
    removed: list[tuple[int, int]] = []  # (start, end) of removed member records, in the type section
    pos = 0
    for definition, drop in sorted(structs.values(), key=lambda s: s[0].offset):
        start = definition.offset
        new_types += types[pos:start]
        record = bytearray(types[start:start + definition.record_len])
        (word,) = info.unpack_from(record, 4)
        info.pack_into(record, 4, (word & ~0xFFFF) | (len(definition.members) - len(drop)))
        for i in reversed(drop):
            del record[_ITEM * (i + 1):_ITEM * (i + 2)]
            removed.append((start + _ITEM * (i + 1), start + _ITEM * (i + 2)))
        new_types += record
        pos = start + definition.record_len
    new_types += types[pos:]
    removed.sort()
    shrunk = len(types) - len(new_types)

    def moved(offset: int) -> int | None:
        """New offset within `.BTF` of the byte at `offset`; None inside a removed member."""
        within = offset - header.type_start
        if within < 0:
            return offset
        if within >= len(types):
            return offset - shrunk
        shift = 0
        for start, end in removed:
            if within >= end:
                shift += end - start
            elif within >= start:
                return None
        return offset - shift

    rewritten = [section, *(rel.section for rel in elf.relocations if rel.target == section.index)]
    if any(_overlaps_another(elf, s) for s in rewritten):  # a damaged layout: patching would corrupt the other
        return data
    out = bytearray(data)
    for rel in elf.relocations:
        if rel.target != section.index:
            continue
        entry = 24 if rel.section.type == SHT_RELA else 16
        for i, relocation in enumerate(rel.entries):
            new = moved(relocation.offset)
            if new is None:
                return data
            if new != relocation.offset:
                struct.pack_into(elf.endian + "Q", out, rel.section.offset + i * entry, new)
    new_header = struct.pack(endian + _HEADER, header.magic, header.version, header.flags, header.hdr_len,
                             header.type_off, len(new_types), header.str_off - shrunk, header.str_len + shrunk)
    new_btf = (new_header + raw[len(new_header):header.type_start] + new_types + raw[header.str_start:]
               + bytes(shrunk))
    assert len(new_btf) == len(raw)
    out[section.offset:section.offset + section.size] = new_btf
    return bytes(out)
