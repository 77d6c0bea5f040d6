"""`.BTF.ext`: where an object's code has CO-RE relocations (no kernel needed to find them).

A CO-RE relocation (`BPF_CORE_READ`, `preserve_access_index` types from vmlinux.h) is an
instruction whose field offset, type id or existence libbpf fixes at load time against the
running kernel's BTF; without /sys/kernel/btf/vmlinux such a program cannot be loaded.
The layout follows the kernel's `struct btf_ext_header` (libbpf's btf.h): a header whose
`core_relo_off`/`core_relo_len` exist when `hdr_len` is at least 32, then per ELF section a
`struct btf_ext_info_sec` (section name offset in the `.BTF` strings, record count) followed
by that many `struct bpf_core_relo` records of the announced size (insn_off first).
"""

from __future__ import annotations

import struct

from bee.elf.btf import BTF_MAGIC, Btf
from bee.elf.elf import ElfFile
from bee.errors import ElfError

BTF_EXT_SECTION = ".BTF.ext"
_HEADER = "HBBIIIII"  # magic, version, flags, hdr_len, func_info off/len, line_info off/len
_HEADER_SIZE = 24
_CORE_HEADER_SIZE = 32  # with core_relo_off, core_relo_len
_CORE_RELO_MIN_SIZE = 16  # insn_off, type_id, access_str_off, kind


def core_relocations(elf: ElfFile, btf: Btf | None) -> dict[str, tuple[int, ...]]:
    """{ELF section name: byte offsets (within the section) of the instructions CO-RE relocates}.

    Empty when the object has no `.BTF.ext`, or one without CO-RE records (clang before 10,
    or no relocated access). Raises ElfError when `.BTF.ext` is malformed or names sections
    by strings that `btf` (the object's `.BTF`) does not have.
    """
    section = elf.section(BTF_EXT_SECTION)
    if section is None:
        return {}
    data = elf.section_data(section)
    endian = {BTF_MAGIC.to_bytes(2, "little"): "<", BTF_MAGIC.to_bytes(2, "big"): ">"}.get(data[:2])
    if endian is None or len(data) < _HEADER_SIZE:
        raise ElfError(f"the {BTF_EXT_SECTION} section has no valid header")
    hdr_len = struct.unpack_from(endian + "I", data, 4)[0]
    if hdr_len < _CORE_HEADER_SIZE or len(data) < _CORE_HEADER_SIZE:
        return {}
    core_off, core_len = struct.unpack_from(endian + "II", data, _HEADER_SIZE)
    if not core_len:
        return {}
    start, end = hdr_len + core_off, hdr_len + core_off + core_len
    if end > len(data) or core_len < 4:
        raise ElfError(f"the CO-RE relocations of {BTF_EXT_SECTION} ({core_len} bytes at {start}) run past the "
                       f"end of the {len(data)}-byte section")
    if btf is None:
        raise ElfError(f"the object has CO-RE relocations in {BTF_EXT_SECTION} but no .BTF section")
    u32, pair = struct.Struct(endian + "I"), struct.Struct(endian + "II")
    (record_size,) = u32.unpack_from(data, start)
    if record_size < _CORE_RELO_MIN_SIZE:
        raise ElfError(f"the CO-RE relocations of {BTF_EXT_SECTION} have {record_size}-byte records, "
                       f"fewer than the {_CORE_RELO_MIN_SIZE} bytes of one")
    found: dict[str, tuple[int, ...]] = {}
    pos = start + 4
    while pos < end:
        if pos + pair.size > end:
            raise ElfError(f"the CO-RE relocations of {BTF_EXT_SECTION} are truncated at byte {pos}")
        name_off, count = pair.unpack_from(data, pos)
        pos += pair.size
        if pos + count * record_size > end:
            raise ElfError(f"the CO-RE relocations of {BTF_EXT_SECTION} are truncated at byte {pos}")
        name = btf.string_at(name_off)
        offsets = tuple(u32.unpack_from(data, pos + i * record_size)[0] for i in range(count))
        found[name] = found.get(name, ()) + offsets
        pos += count * record_size
    return {name: offsets for name, offsets in found.items() if offsets}
