"""`bee.elf.variables`: an object's parameters (`const volatile` globals of `.rodata`) and mutable globals,
read from the committed tests/data/obj/params.o (and its big-endian build)."""

from __future__ import annotations

import pytest

from bee.elf.spec import load_spec
from bee.elf.variables import mutable_globals, parameters
from tests.goldens import object_bytes

#: name → (C type, offset, size) as clang 14 lays out tests/data/src/params.c
LAYOUT = {
    "trigger": ("char[16]", 0, 16),
    "count": ("u32", 16, 4),
    "offset": ("s16", 20, 2),
    "big": ("u64", 24, 8),
    "enabled": ("bool", 32, 1),
    "level": ("enum level", 36, 4),
    "label": ("char[8]", 40, 8),
    "addr": ("ipv4_addr", 48, 4),
    "addr6": ("ipv6_addr", 52, 16),
    "wait": ("duration", 72, 8),
    "ports": ("u16[4]", 80, 8),
    "pair": ("struct pair", 88, 8),
    "mask": ("u8[3]", 100, 3),
}


@pytest.mark.parametrize("name", ["params", "params_be"])
def test_parameters_are_the_volatile_globals_of_rodata(name: str) -> None:
    spec = load_spec(object_bytes(name), name)
    found = parameters(spec)
    assert found is not None
    assert {p.name: (p.type_name, p.offset, p.size) for p in found.items} == LAYOUT
    assert [p.name for p in found.items] == sorted(LAYOUT, key=lambda n: LAYOUT[n][1])  # in section order
    assert found.endian == ("big" if name.endswith("_be") else "little")
    assert spec.btf is not None and spec.btf.get(found.datasec_id).name == ".rodata"
    # not parameters: a static one, and a const without volatile (the compiler folds its value)
    assert found.get("hidden") is None and found.get("folded") is None
    for p in found.items:
        assert found.image[p.offset:p.offset + p.size] == p.default


def _default(name: str, parameter: str) -> bytes:
    found = parameters(load_spec(object_bytes(name), name))
    assert found is not None
    item = found.get(parameter)
    assert item is not None
    return item.default


def test_defaults_are_the_section_bytes_in_the_object_byte_order() -> None:
    assert _default("params", "count") == (7).to_bytes(4, "little")
    assert _default("params_be", "count") == (7).to_bytes(4, "big")
    assert _default("params", "trigger") == b"beeparams".ljust(16, b"\0")
    # an address is in network order whatever the object's byte order
    assert _default("params", "addr") == _default("params_be", "addr") == bytes([127, 0, 0, 1])
    assert _default("params", "mask") == bytes(3)  # no initializer


def test_mutable_globals_are_those_of_data_and_bss() -> None:
    assert mutable_globals(load_spec(object_bytes("params"), "p")) == ("total", "seen")


@pytest.mark.parametrize("name", ["hello", "run_types", "spec_legacy_nobtf"])
def test_objects_without_parameters(name: str) -> None:
    spec = load_spec(object_bytes(name), name)
    found = parameters(spec)
    assert found is None or found.items == ()
    assert mutable_globals(spec) == ()
