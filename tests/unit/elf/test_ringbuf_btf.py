"""bee.elf.ringbuf_btf: RINGBUF map definitions without BTF key/value members, everything else in place."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from bee.elf import load_spec, read_elf
from bee.elf.btf import Btf
from bee.elf.btf_types import Struct
from bee.elf.maps import BPF_MAP_TYPE_RINGBUF
from bee.elf.normalize import merge_map_sections
from bee.elf.ringbuf_btf import untype_ring_buffers
from tests.unit.elf.builders import datasec_offset_fields, parse_btf_section
from tests.unit.elf.oracle import bpftool_dump
from tests.unit.elf.test_normalize import BPFTOOL

# lb_ringbuf: two ring buffers and an array; dec_layout: four ring buffers; spec_types: ring buffers
# among hash, array and legacy-sized maps.
WITH_RING_BUFFERS = ("lb_ringbuf", "dec_layout", "spec_types", "hello")


def _without_offsets(btf: Btf, changed: set[int]) -> list[object]:
    """Every type but those in `changed`, without the record offsets (which move)."""
    return [t.replace(offset=0) for t in btf.types if t.id not in changed]


@pytest.mark.parametrize("name", WITH_RING_BUFFERS)
def test_ring_buffers_lose_their_key_and_value_types_and_nothing_else(build: Callable[[str], bytes],
                                                                      name: str) -> None:
    data = build(name)
    before, after = load_spec(data), load_spec(untype_ring_buffers(data))
    rings = [m for m in before.maps if m.map_type == BPF_MAP_TYPE_RINGBUF]
    assert rings and any(m.value_type_id for m in rings)
    assert before.programs == after.programs
    for old, new in zip(before.maps, after.maps, strict=True):
        if old.map_type == BPF_MAP_TYPE_RINGBUF:
            assert (new.key_type_id, new.value_type_id, new.key_size, new.value_size) == (None, None, 0, 0)
            assert new.replace(key_type_id=old.key_type_id, value_type_id=old.value_type_id,
                               key_size=old.key_size, value_size=old.value_size) == old
        else:
            assert new == old


@pytest.mark.parametrize("name", WITH_RING_BUFFERS)
def test_type_ids_strings_and_other_sections_stay(build: Callable[[str], bytes], name: str) -> None:
    data = build(name)
    out = untype_ring_buffers(data)
    assert len(out) == len(data)
    old_elf, new_elf = read_elf(data), read_elf(out)
    old, new = parse_btf_section(old_elf), parse_btf_section(new_elf)
    changed = {m.def_type_id for m in load_spec(data).maps if m.map_type == BPF_MAP_TYPE_RINGBUF}
    assert len(old.types) == len(new.types)
    assert _without_offsets(old, changed) == _without_offsets(new, changed)
    for type_id in changed:
        before, after = old.types[type_id], new.types[type_id]
        assert isinstance(before, Struct) and isinstance(after, Struct)
        assert after.members == tuple(m for m in before.members if m.name not in ("key", "value"))
        assert after.size == before.size
    shrunk = old.header.type_len - new.header.type_len
    assert shrunk == 12 * sum(len(old.types[i].members) - len(new.types[i].members) for i in changed)  # type: ignore[attr-defined]
    assert new.strings == old.strings + bytes(shrunk)
    for a, b in zip(old_elf.sections, new_elf.sections, strict=True):
        assert (a.name, a.offset, a.size) == (b.name, b.offset, b.size)
        if a.name not in (".BTF", ".rel.BTF"):
            assert old_elf.section_data(a) == new_elf.section_data(b), a.name


def _relocated_fields(data: bytes) -> list[tuple[str, str, int]]:
    """(DATASEC, variable, symbol index) of each `.rel.BTF` entry, in order; the entries patch variable offsets."""
    elf = read_elf(data)
    btf_section = elf.section(".BTF")
    assert btf_section is not None
    fields = datasec_offset_fields(parse_btf_section(elf))
    return [(*fields[e.offset], e.symbol) for r in elf.relocations if r.target == btf_section.index
            for e in r.entries]


@pytest.mark.parametrize("name", WITH_RING_BUFFERS)
def test_btf_relocations_follow_their_records(build: Callable[[str], bytes], name: str) -> None:
    data = build(name)
    before = _relocated_fields(data)
    assert before
    assert _relocated_fields(untype_ring_buffers(data)) == before


@pytest.mark.bpftool
def test_bpftool_reads_the_rewritten_btf(build: Callable[[str], bytes], tmp_path: Path) -> None:
    assert BPFTOOL is not None
    path = tmp_path / "lb_ringbuf.o"
    path.write_bytes(untype_ring_buffers(build("lb_ringbuf")))
    proc = subprocess.run([BPFTOOL, "btf", "dump", "file", str(path)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == bpftool_dump(parse_btf_section(read_elf(path.read_bytes())))


def test_the_parse_of_the_spec_can_be_reused(build: Callable[[str], bytes]) -> None:
    data = build("dec_layout")
    spec = load_spec(data)
    assert untype_ring_buffers(data, elf=spec.elf, btf=spec.btf) == untype_ring_buffers(bytes(data))


def test_merged_legacy_objects_are_untyped_too(build: Callable[[str], bytes]) -> None:
    data = build("legacy_maps")
    merged = merge_map_sections(data)
    out = untype_ring_buffers(merged)
    rings = [m for m in load_spec(out).maps if m.map_type == BPF_MAP_TYPE_RINGBUF]
    assert rings and all(m.value_type_id is None for m in rings)
    assert [m.name for m in load_spec(out).maps] == [m.name for m in load_spec(merged).maps]


def test_big_endian_objects_are_untyped(obj: Callable[[str], bytes]) -> None:
    out = untype_ring_buffers(obj("lb_ringbuf_be"))
    assert read_elf(out).endian == ">"
    rings = [m for m in load_spec(out).maps if m.map_type == BPF_MAP_TYPE_RINGBUF]
    assert [(m.name, m.value_type_id, m.max_entries) for m in rings] == [("events", None, 1 << 20),
                                                                        ("calls", None, 1 << 12)]


@pytest.mark.parametrize("name", ["lb_net", "spec_legacy"])
def test_objects_without_typed_ring_buffers_are_returned_as_they_are(build: Callable[[str], bytes],
                                                                     name: str) -> None:
    data = build(name)
    assert untype_ring_buffers(data) is data


def test_untyped_twice_is_untyped_once(build: Callable[[str], bytes]) -> None:
    once = untype_ring_buffers(build("lb_ringbuf"))
    assert untype_ring_buffers(once) is once
