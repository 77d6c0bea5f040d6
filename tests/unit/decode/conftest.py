"""Compiled `tests/data/src/dec_*.c` objects, parsed (little-endian as built; `dec_layout` also big-endian)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bee.build.compiler import compile_bpf
from bee.elf import ObjectSpec, load_spec
from tests.helpers import DATA

SOURCES = DATA / "src"


@pytest.fixture(scope="session")
def spec(compile_c: Callable[[Path], bytes]) -> Callable[[str], ObjectSpec]:
    """`spec("layout")` → the spec of `dec_layout.c` compiled with bee's compile line."""
    return lambda name: load_spec(compile_c(SOURCES / f"dec_{name}.c"), f"dec_{name}.o")


@pytest.fixture(scope="session")
def layout_be(tmp_path_factory: pytest.TempPathFactory) -> ObjectSpec:
    """`dec_layout.c` compiled for big-endian BPF (`-target bpfeb`)."""
    output = tmp_path_factory.mktemp("dec_be") / "dec_layout_be.o"
    compile_bpf(SOURCES / "dec_layout.c", output, cflags=("-target", "bpfeb"))
    return load_spec(output.read_bytes(), output.name)
