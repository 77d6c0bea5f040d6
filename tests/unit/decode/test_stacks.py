"""Kernel stacks and system call names for `kstack_t` and `syscall_t` labels (bee.decode.stacks,
bee.decode.system_names.syscall_name). The stack map is a function of bytes here (its real reading, a
loaded BPF_MAP_TYPE_STACK_TRACE map, is in tests/examples: offcputime); the symbols are this machine's."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from bee.decode import DecodeError, compile_decoder, system_names
from bee.decode.stacks import KernelStacks
from bee.decode.system_names import _load_syscalls, syscall_name
from bee.elf.btf import parse_btf
from tests.unit.elf.builders import BtfBuilder

STRUCT, TYPEDEF, SIGNED = 4, 8, 1


def _symbols(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kallsyms of three functions (at 0x1000, 0x2000, 0x3000)."""
    monkeypatch.setattr(system_names, "_symbols", ([0x1000, 0x2000, 0x3000], ["entry", "do_work", "schedule"]))


def _frames(*addresses: int, depth: int = 6) -> bytes:
    return struct.pack(f"<{depth}Q", *addresses, *([0] * (depth - len(addresses))))


def test_a_stack_is_folded_root_first_without_offsets(monkeypatch: pytest.MonkeyPatch) -> None:
    _symbols(monkeypatch)
    asked = []
    stacks = KernelStacks(("stacks",))
    stacks.bind(lambda key: asked.append(key) or _frames(0x3004, 0x2010, 0x1000))  # leaf first, as the map has it
    assert stacks(7) == "entry;do_work;schedule"
    assert asked == [struct.pack("<I", 7)]


def test_ids_without_a_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    _symbols(monkeypatch)
    stacks = KernelStacks(("stacks",))
    assert stacks(3) == "[stack 3]"  # before the load binds the map
    assert stacks(-17) == "[EEXIST]" and stacks(-14) == "[EFAULT]"  # bpf_get_stackid's errors
    stacks.bind(lambda key: None)
    assert stacks(3) == "[stack 3]"  # no such stack (any more)

    def closed(key: bytes) -> bytes:
        raise RuntimeError("the object is closed")

    stacks.bind(closed)
    assert stacks(3) == "[stack 3]"
    stacks.bind(None)
    assert stacks(3) == "[stack 3]"


def test_an_address_outside_every_symbol_is_hex(monkeypatch: pytest.MonkeyPatch) -> None:
    _symbols(monkeypatch)
    stacks = KernelStacks(("stacks",), endian="big")
    stacks.bind(lambda key: struct.pack(">3Q", 0x2000, 0x10, 0) if key == struct.pack(">I", 1) else None)
    assert stacks(1) == "0x10;do_work"


def test_kstack_fields_need_one_stack_map() -> None:
    b = BtfBuilder()
    s32 = b.int_("int", 4, 32, SIGNED)
    kstack = b.ref(TYPEDEF, s32, "kstack_t")
    key = b.composite(STRUCT, "key", 8, [("pid", s32, 0, 0), ("stack", kstack, 32, 0)])
    btf = parse_btf(b.build())
    data = struct.pack("<ii", 42, 5)
    with pytest.raises(DecodeError, match=r"^member stack of struct key is a kstack_t, but the program has no "
                                          r"BPF_MAP_TYPE_STACK_TRACE map for its ids to name$"):
        compile_decoder(btf, key)  # a program without a stack map: its ids would name nothing
    stacks = KernelStacks(("stacks",))
    stacks.bind(lambda k: None)
    assert compile_decoder(btf, key, stacks=stacks).decode(data) == {"pid": 42, "stack": "[stack 5]"}
    with pytest.raises(DecodeError, match=r"^member stack of struct key is a kstack_t, but the program has 2 "
                                          r"BPF_MAP_TYPE_STACK_TRACE maps \(a, b\): bee names ids from one only$"):
        compile_decoder(btf, key, stacks=KernelStacks(("a", "b")))


def test_syscall_numbers_are_names_of_this_machines_architecture() -> None:
    assert _load_syscalls("x86_64")[257] == "openat" and _load_syscalls("x86_64")[0] == "read"
    arm64 = _load_syscalls("aarch64")
    assert (arm64[56], arm64[63], arm64[221], arm64[435]) == ("openat", "read", "execve", "clone3")
    assert _load_syscalls("sparc64") == {}
    if os.uname().machine == "x86_64":
        assert (syscall_name(59), syscall_name(-1), syscall_name(100000)) == ("execve", "-1", "100000")


def test_syscall_tables_say_where_they_come_from() -> None:
    tables = Path(system_names.SYSCALL_TABLES)
    for machine in ("x86_64", "aarch64"):
        head = (tables / f"{machine}.txt").read_text().splitlines()[:2]
        assert head[0].startswith(f"# {machine} system call numbers: asm/unistd.h of Debian's linux-libc-dev 6.1")
        assert "package sha256" in head[1]


@pytest.mark.parametrize(("label", "stable"), [("errno_t", True), ("syscall_t", True), ("ifindex_t", False),
                                               ("cgroup_t", False), ("ksym_t", False), ("kstack_t", False),
                                               (None, True)])
def test_a_decoder_is_stable_unless_a_label_may_change_its_text(label: str | None, stable: bool) -> None:
    """Stable: the same bytes always give the same values (callers may keep what they made of them)."""
    b = BtfBuilder()
    s64 = b.int_("long long", 8, 64, SIGNED)
    s32 = b.int_("int", 4, 32, SIGNED)
    field = b.ref(TYPEDEF, s32 if label == "ifindex_t" else s64, label) if label else s64  # ifindex_t: 4 bytes
    key = b.composite(STRUCT, "key", 16, [("pid", s64, 0, 0), ("what", field, 64, 0)])
    stacks = KernelStacks(("stacks",)) if label == "kstack_t" else None
    assert compile_decoder(parse_btf(b.build()), key, stacks=stacks).stable is stable
