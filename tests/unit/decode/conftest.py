"""The committed `tests/data/src/dec_*.c` objects, parsed (little-endian; `dec_layout` also big-endian)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bee.elf import ObjectSpec, load_spec
from tests.goldens import object_bytes


@pytest.fixture(scope="session")
def spec() -> Callable[[str], ObjectSpec]:
    """`spec("layout")` → the spec of the committed object of `dec_layout.c`."""
    return lambda name: load_spec(object_bytes(f"dec_{name}"), f"dec_{name}.o")


@pytest.fixture(scope="session")
def layout_be() -> ObjectSpec:
    """`dec_layout.c` compiled for big-endian BPF (`-target bpfeb`)."""
    return load_spec(object_bytes("dec_layout_be"), "dec_layout_be.o")
