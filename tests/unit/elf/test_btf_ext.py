"""bee.elf.btf_ext and `ObjectSpec.kernel_btf_needs`: what needs the kernel's BTF, read without the kernel."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest

from bee.elf import load_spec, read_elf
from bee.elf.btf_ext import BTF_EXT_SECTION, core_relocations
from bee.errors import ElfError
from tests.goldens import object_bytes
from tests.unit.elf.builders import ElfSection, build_elf


def _opensnoop() -> bytes:
    return object_bytes("opensnoop")  # examples/opensnoop/opensnoop.c


def test_core_relocations_by_section_at_their_instructions() -> None:
    """opensnoop reads tracepoint arguments through vmlinux.h types: libbpf's log of its load shows
    the same instructions relocated (insn #0 and #1 of the enter programs, #24 of the exit ones)."""
    spec = load_spec(_opensnoop())
    assert core_relocations(spec.elf, spec.btf) == {
        "tracepoint/syscalls/sys_enter_open": (0, 8),
        "tracepoint/syscalls/sys_enter_openat": (0, 8),
        "tracepoint/syscalls/sys_exit_open": (192,),
        "tracepoint/syscalls/sys_exit_openat": (192,),
    }
    assert spec.kernel_btf_needs() == (
        "program tracepoint__syscalls__sys_enter_open (section tracepoint/syscalls/sys_enter_open) uses 2 CO-RE "
        "relocations",
        "program tracepoint__syscalls__sys_enter_openat (section tracepoint/syscalls/sys_enter_openat) uses 2 CO-RE "
        "relocations",
        "program tracepoint__syscalls__sys_exit_open (section tracepoint/syscalls/sys_exit_open) uses 1 CO-RE "
        "relocation",
        "program tracepoint__syscalls__sys_exit_openat (section tracepoint/syscalls/sys_exit_openat) uses 1 CO-RE "
        "relocation",
    )


@pytest.mark.parametrize("name", ["run_types", "hello", "lb_reject", "spec_types"])
def test_objects_without_core_relocations_need_no_kernel_btf(build: Callable[[str], bytes], name: str) -> None:
    spec = load_spec(build(name))
    assert read_elf(build(name)).section(BTF_EXT_SECTION) is not None  # line info, no CO-RE records
    assert core_relocations(spec.elf, spec.btf) == {}
    assert spec.kernel_btf_needs() == ()


def test_program_kinds_that_attach_through_kernel_btf_come_first(build: Callable[[str], bytes]) -> None:
    assert load_spec(build("lb_fentry")).kernel_btf_needs() == (
        "program lb_fentry (section fentry/do_sys_openat2) is a fentry program",)
    needs = load_spec(build("spec_prefix")).kernel_btf_needs()
    assert needs[0] == "program handle_wakeup (section tp_btf/sched_wakeup) is a tp_btf program"
    assert all("CO-RE" in need for need in needs[1:]) and len(needs) > 1


def test_objects_without_btf_ext_need_nothing() -> None:
    spec = load_spec(build_elf([ElfSection("tracepoint/x", 1, b"\x95" + bytes(7), flags=6)]))
    assert spec.elf.section(BTF_EXT_SECTION) is None
    assert core_relocations(spec.elf, spec.btf) == {} and spec.kernel_btf_needs() == ()


def _with_btf_ext(data: bytes, patch: Callable[[bytearray], None]) -> bytes:
    """`data` with its `.BTF.ext` section's bytes changed in place by `patch`."""
    elf = read_elf(data)
    section = elf.section(BTF_EXT_SECTION)
    assert section is not None
    ext = bytearray(elf.section_data(section))
    patch(ext)
    out = bytearray(data)
    out[section.offset:section.offset + section.size] = ext
    return bytes(out)


def _core_start(ext: bytearray) -> int:
    hdr_len, core_off = struct.unpack_from("<I", ext, 4)[0], struct.unpack_from("<I", ext, 24)[0]
    return int(hdr_len + core_off)


@pytest.mark.parametrize(("patch", "message"), [
    (lambda ext: ext.__setitem__(slice(0, 2), b"\0\0"), r"\.BTF\.ext section has no valid header"),
    (lambda ext: struct.pack_into("<I", ext, 28, 1 << 20), r"CO-RE relocations of \.BTF\.ext .* run past the end"),
    (lambda ext: struct.pack_into("<I", ext, _core_start(ext), 8), r"8-byte records, fewer than the 16 bytes"),
    (lambda ext: struct.pack_into("<I", ext, _core_start(ext) + 8, 1 << 16), r"are truncated at byte"),
], ids=["magic", "length", "record-size", "count"])
def test_malformed_btf_ext_is_an_elf_error(patch: Callable[[bytearray], None], message: str) -> None:
    spec = load_spec(_with_btf_ext(_opensnoop(), patch))
    with pytest.raises(ElfError, match=message):
        core_relocations(spec.elf, spec.btf)
