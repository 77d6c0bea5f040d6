"""bee.elf.spec: programs, maps and their classification from compiled test programs; bad objects."""

from __future__ import annotations

import struct
import timeit
from collections.abc import Callable
from pathlib import Path

import pytest

from bee.compile.toolchain import target_arch
from bee.elf import NotBpfError, NotElfError, load_spec
from bee.elf.elf import SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_PROGBITS, SHT_STRTAB, SHT_SYMTAB, read_elf
from bee.elf.maps import classify
from bee.elf.spec import ObjectSpec
from bee.errors import ElfError
from tests.unit.elf.builders import BtfBuilder, ElfSection, build_elf, symbol


def _maps(spec: ObjectSpec) -> list[tuple[object, ...]]:
    return [(m.name, m.section, m.map_type, m.type_name, m.max_entries, m.key_size, m.value_size, m.output,
             m.convention, m.tracked) for m in spec.maps]


def _programs(spec: ObjectSpec) -> list[tuple[object, ...]]:
    return [(p.function, p.section, p.kind, p.prog_type, p.hook, p.attach_type) for p in spec.programs]


def test_prefix_convention_programs(obj: Callable[[str], bytes]) -> None:
    spec = load_spec(obj("prefix"), "spec_prefix.o")
    assert _programs(spec) == [
        ("handle_openat", "tracepoint/syscalls/sys_enter_openat", "tracepoint", "tracepoint",
         "syscalls/sys_enter_openat", None),
        ("handle_exit", "tp/sched/sched_process_exit", "tracepoint", "tracepoint", "sched/sched_process_exit", None),
        ("handle_switch", "raw_tp/sched_switch", "raw_tracepoint", "raw_tracepoint", "sched_switch", None),
        ("handle_wakeup", "tp_btf/sched_wakeup", "tp_btf", "tracing", "sched_wakeup", None),
        ("handle_connect", "kprobe/tcp_v4_connect", "kprobe", "kprobe", "tcp_v4_connect", None),
        ("handle_connect_ret", "kretprobe/tcp_v4_connect", "kretprobe", "kprobe", "tcp_v4_connect", None),
        ("handle_readline", "uprobe//bin/bash:readline", "uprobe", "kprobe", "/bin/bash:readline", None),
        ("handle_xdp", "xdp", "xdp", "xdp", None, None),
        ("handle_xdp_drop", "xdp", "xdp", "xdp", None, None),
        ("handle_tc", "tc", "tc", "sched_cls", None, None),
        ("handle_skb", "cgroup_skb/ingress", "cgroup_skb", "cgroup_skb", None, "ingress"),
    ]
    elf = read_elf(obj("prefix"))
    sizes = {s.name: s.size for s in elf.symbols}
    for p in spec.programs:
        assert p.function is not None
        assert p.insn_count == sizes[p.function] // 8 > 0
        assert not p.sleepable
    xdp = [p for p in spec.programs if p.section == "xdp"]
    assert xdp[0].offset == 0 and xdp[1].offset == xdp[0].insn_count * 8
    assert spec.program("subprogram") is None  # lives in .text: a subprogram, not a program
    assert spec.license == "Dual BSD/GPL"
    assert spec.has_btf and spec.btf is not None
    assert spec.endian == "little"
    assert spec.arch_hint == target_arch()


def test_prefix_convention_maps(obj: Callable[[str], bytes]) -> None:
    spec = load_spec(obj("prefix"))
    assert _maps(spec) == [
        ("print_events", ".maps", 27, "ringbuf", 1 << 16, 0, 72, "print", "prefix", True),
        ("counter_events_hash", ".maps", 1, "hash", 8192, 24, 8, "counter", "prefix", True),
        ("gauge_sockets", ".maps", 1, "hash", 1024, 24, 8, "gauge", "prefix", True),
        ("hist_op_time_us", ".maps", 27, "ringbuf", 1 << 12, 0, 16, "hist", "prefix", True),
        ("start_times", ".maps", 1, "hash", 64, 4, 8, None, None, False),
        ("counter_array", ".maps", 2, "array", 4, 4, 8, "counter", "prefix", True),
        ("gauge_ring", ".maps", 27, "ringbuf", 1 << 12, 0, 0, "gauge", "prefix", False),
        ("scratch", ".maps", 6, "percpu_array", 1, 4, 24, None, None, False),
    ]
    btf = spec.btf
    assert btf is not None

    def name(type_id: int | None) -> str | None:
        return None if type_id is None else btf.type_name(type_id)

    types = {m.name: (name(m.key_type_id), name(m.value_type_id)) for m in spec.maps}
    assert types == {
        "print_events": (None, "struct event"), "counter_events_hash": ("struct dimensions", "u64"),
        "gauge_sockets": ("struct dimensions", "u64"), "hist_op_time_us": (None, "struct op_time"),
        "start_times": ("u32", "u64"), "counter_array": ("u32", "u64"), "gauge_ring": (None, None),
        "scratch": (None, None),
    }
    by_name = {m.name: m for m in spec.maps}
    assert by_name["gauge_sockets"].pinning == 1
    assert by_name["start_times"].map_flags == 1  # BPF_F_NO_PREALLOC
    assert by_name["gauge_ring"].unsupported == ("map gauge_ring: type ringbuf is not supported for output gauge "
                                                 "(a ring buffer gives print, counter or hist)")
    assert all(m.unsupported is None for m in spec.maps if m.tracked or m.output is None)
    assert [m.name for m in spec.tracked_maps] == ["print_events", "counter_events_hash", "gauge_sockets",
                                                   "hist_op_time_us", "counter_array"]
    assert [(m.name, m.polled, m.per_cpu, m.is_array) for m in spec.maps if m.polled] == [
        ("counter_events_hash", True, False, False), ("gauge_sockets", True, False, False),
        ("start_times", True, False, False), ("counter_array", True, False, True), ("scratch", True, True, True)]
    # Symbols place each map in .maps (clang leaves the DATASEC offsets at 0).
    elf = read_elf(obj("prefix"))
    symbols = {s.name: (s.value, s.size) for s in elf.symbols}
    for m in spec.maps:
        assert (m.symbol_offset, m.symbol_size) == symbols[m.name]
        var = btf.get(m.var_type_id or 0)
        assert var.name == m.name and btf.resolve(var.type_id).id == m.def_type_id
        assert not m.legacy
    assert spec.map("print_events") is by_name["print_events"]


def test_section_convention(obj: Callable[[str], bytes]) -> None:
    spec = load_spec(obj("section"))
    assert _maps(spec) == [
        ("events", ".maps.print", 27, "ringbuf", 1 << 24, 0, 32, "print", "section", True),
        ("sockets_ext", ".maps.gauge", 1, "hash", 8192, 8, 8, "gauge", "section", True),
        ("connections", ".maps.counter", 1, "hash", 8192, 8, 8, "counter", "section", True),
        ("gauge_but_counted", ".maps.counter", 1, "hash", 16, 8, 8, "counter", "section", True),
        ("sockets", ".maps", 1, "hash", 8192, 4, 8, None, None, False),
        ("settings", ".maps.custom", 2, "array", 1, 4, 4, None, None, False),
    ]
    offsets = {m.name: m.symbol_offset for m in spec.maps}
    assert offsets["connections"] == 0 and offsets["gauge_but_counted"] == 32
    assert spec.btf is not None
    events = spec.map("events")
    assert events is not None and spec.btf.type_name(events.value_type_id or 0) == "struct event"
    sockets = spec.map("sockets")
    assert sockets is not None and spec.btf.type_name(sockets.value_type_id or 0) == "struct sock *"
    assert _programs(spec) == [
        ("tcp_v4_connect", "kprobe/tcp_v4_connect", "kprobe", "kprobe", "tcp_v4_connect", None),
        ("tcp_v4_connect_ret", "kretprobe/tcp_v4_connect", "kretprobe", "kprobe", "tcp_v4_connect", None),
    ]
    assert spec.license == "GPL"


def test_big_endian_object_has_the_same_spec(obj: Callable[[str], bytes]) -> None:
    little, big = load_spec(obj("section")), load_spec(obj("section_be"))
    assert big.endian == "big"
    assert big.maps == little.maps
    assert _programs(big) == _programs(little)
    assert big.btf is not None and little.btf is not None and big.btf.types == little.btf.types


def test_legacy_maps(obj: Callable[[str], bytes]) -> None:
    for variant in ("legacy", "legacy_nobtf"):
        spec = load_spec(obj(variant))
        assert [(m.name, m.section, m.type_name, m.key_size, m.value_size, m.max_entries, m.map_flags, m.legacy,
                 m.output, m.tracked, m.symbol_offset) for m in spec.maps] == [
            ("packets", "maps", "hash", 4, 8, 128, 0, True, None, False, 0),
            ("flags", "maps", "array", 4, 4, 2, 1024, True, None, False, 20),
        ]
        assert _programs(spec) == [("count_packets", "socket", "socket", "socket_filter", None, None)]
        assert spec.license == "GPL"
    nobtf = load_spec(obj("legacy_nobtf"))
    assert not nobtf.has_btf and nobtf.btf is None and nobtf.arch_hint is None


def test_without_btf_programs_remain_and_btf_maps_are_unknown(obj: Callable[[str], bytes]) -> None:
    data = bytearray(obj("prefix"))
    elf = read_elf(bytes(data))
    names = elf.sections[elf.header.shstrndx]
    table = data[names.offset:names.offset + names.size]
    data[names.offset:names.offset + names.size] = table.replace(b".BTF\0", b".XTF\0")
    spec = load_spec(bytes(data))
    assert not spec.has_btf and spec.btf is None and spec.maps == ()
    assert len(spec.programs) == 11 and spec.license == "Dual BSD/GPL"


def test_spec_is_deterministic(obj: Callable[[str], bytes]) -> None:
    data = obj("prefix")
    first, second = load_spec(data, "a.o"), load_spec(bytes(bytearray(data)), "a.o")
    assert first == second
    assert repr(first) == repr(second)


def test_types_object_maps(obj: Callable[[str], bytes]) -> None:
    spec = load_spec(obj("types"))
    assert _maps(spec) == [
        ("print_zoo", ".maps", 27, "ringbuf", 1 << 12, 0, 184, "print", "prefix", True),
        ("counter_numbers", ".maps", 1, "hash", 16, 8, 8, "counter", "prefix", True),
    ]
    assert _programs(spec) == [("handle_write", "tracepoint/syscalls/sys_enter_write", "tracepoint", "tracepoint",
                                "syscalls/sys_enter_write", None)]


def test_load_spec_is_fast(obj: Callable[[str], bytes]) -> None:
    data = obj("prefix")  # about 20 KB, with a 15 KB .BTF section
    best = min(timeit.repeat(lambda: load_spec(data), number=5, repeat=5)) / 5
    assert best < 0.010, f"load_spec took {best * 1000:.1f} ms"


@pytest.mark.parametrize(("name", "section", "expected"), [
    ("print_events", ".maps", ("print", "prefix")),
    ("counter_x", ".maps", ("counter", "prefix")),
    ("gauge_x", ".maps", ("gauge", "prefix")),
    ("hist_x", ".maps", ("hist", "prefix")),
    ("printer", ".maps", (None, None)),
    ("events", ".maps", (None, None)),
    ("events", ".maps.print", ("print", "section")),
    ("counter_x", ".maps.gauge", ("gauge", "section")),
    ("events", ".maps.hist", ("hist", "section")),
    ("events", ".maps.other", (None, None)),
    ("print_x", "maps", (None, None)),
])
def test_classify(name: str, section: str, expected: tuple[str | None, str | None]) -> None:
    assert classify(name, section) == expected


# --- hand-made objects and errors -----------------------------------------------------------------------


def _object(btf: bytes | None, *, programs: tuple[str, ...] = ("xdp",), with_func: bool = True,
            maps_section: str = ".maps", map_names: tuple[str, ...] = ()) -> bytes:
    """An object with one 2-instruction program per section in `programs`, a map section and a .BTF."""
    sections = [ElfSection(name, SHT_PROGBITS, bytes(16), SHF_ALLOC | SHF_EXECINSTR) for name in programs]
    sections.append(ElfSection(maps_section, SHT_PROGBITS, bytes(32 * len(map_names)), SHF_ALLOC | SHF_WRITE))
    maps_index = len(sections)
    strtab = bytearray(b"\0")
    syms = symbol(64, "<", 0, 0, 0, 0, 0)
    for index in range(1, len(programs) + 1):
        if with_func:
            syms += symbol(64, "<", len(strtab), 0, 16, 0x12, index)
            strtab += f"prog{index}".encode() + b"\0"
    for i, name in enumerate(map_names):
        syms += symbol(64, "<", len(strtab), 32 * i, 32, 0x11, maps_index)
        strtab += name.encode() + b"\0"
    sections.append(ElfSection(".strtab", SHT_STRTAB, bytes(strtab), align=1))
    sections.append(ElfSection(".symtab", SHT_SYMTAB, syms, link=len(sections), info=1, entsize=24))
    if btf is not None:
        sections.append(ElfSection(".BTF", SHT_PROGBITS, btf, align=4))
    return build_elf(sections)


def _map_btf(member_kind: str) -> bytes:
    b = BtfBuilder()
    b.int_("int", 4, 32, encoding=1)  # 1
    if member_kind == "not-a-struct":
        b.var("bad", 1, 1)  # 2
        b.datasec(".maps", 0, [(2, 0, 4)])
        return b.build()
    b.array(1, 1, 27)  # 2
    b.ref(2, 2)  # 3 int (*)[27]
    target = 1 if member_kind == "plain-int" else 3
    b.composite(4, "", 8, [("type", target, 0, 0)])  # 4
    b.var("events", 4, 1)  # 5
    b.datasec(".maps", 0, [(5, 0, 8)])
    return b.build()


def test_hand_made_map_and_program_variants() -> None:
    spec = load_spec(_object(_map_btf("ok"), programs=("xdp", "weird/section", "lsm.s/file_open"),
                             map_names=("events",)))
    assert [(m.name, m.type_name, m.output) for m in spec.maps] == [("events", "ringbuf", None)]
    assert [(p.function, p.section, p.kind, p.prog_type, p.sleepable, p.insn_count) for p in spec.programs] == [
        ("prog1", "xdp", "xdp", "xdp", False, 2),
        ("prog2", "weird/section", None, None, False, 2),
        ("prog3", "lsm.s/file_open", "lsm", "lsm", True, 2),
    ]
    nofunc = load_spec(_object(None, with_func=False))
    assert [(p.function, p.insn_count) for p in nofunc.programs] == [(None, 2)]


def test_bad_map_definitions() -> None:
    with pytest.raises(ElfError, match=r"^x\.o: map bad in section \.maps is declared as int, not as a map "
                                       r"definition struct$"):
        load_spec(_object(_map_btf("not-a-struct"), map_names=("bad",)), "x.o")
    with pytest.raises(ElfError, match=r"^x\.o: map events: member type is not declared with __uint"):
        load_spec(_object(_map_btf("plain-int"), map_names=("events",)), "x.o")


def test_not_relocatable(obj: Callable[[str], bytes]) -> None:
    data = bytearray(obj("prefix"))
    struct.pack_into("<H", data, 16, 2)  # e_type = ET_EXEC
    with pytest.raises(ElfError, match=r"^x\.o is a BPF executable file, not a relocatable object"):
        load_spec(bytes(data), "x.o")


def test_corrupted_btf_magic(obj: Callable[[str], bytes]) -> None:
    data = bytearray(obj("prefix"))
    section = read_elf(bytes(data)).section(".BTF")
    assert section is not None
    data[section.offset:section.offset + 2] = b"\x00\x00"
    with pytest.raises(ElfError, match=r"^x\.o: the \.BTF section has a bad magic number 0x0000 \(expected 0xeb9f\)$"):
        load_spec(bytes(data), "x.o")


def test_truncated_object(obj: Callable[[str], bytes]) -> None:
    data = obj("prefix")
    for keep in (10, 40, len(data) // 2, len(data) - 1):
        with pytest.raises(ElfError, match=r"^x\.o is truncated"):
            load_spec(data[:keep], "x.o")


def test_not_elf_and_not_bpf() -> None:
    with pytest.raises(NotElfError, match=r"^notes\.txt is not an ELF file$"):
        load_spec(b"just some text\n", "notes.txt")
    with pytest.raises(NotBpfError, match=r"^/bin/true is an ELF file for "):
        load_spec(Path("/bin/true").read_bytes(), "/bin/true")
