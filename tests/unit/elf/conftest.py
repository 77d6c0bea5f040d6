"""Compile the `tests/data/src/spec_*.c` programs once per session (clang, vmlinux.h from the running kernel)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bee.build import headers
from bee.build.compiler import compile_bpf
from bee.build.toolchain import find_tool
from bee.errors import BuildError
from tests.helpers import DATA, require

SOURCES = DATA / "src"

# name → (source, extra cflags)
VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "prefix": ("spec_prefix.c", ()),
    "section": ("spec_section.c", ()),
    "types": ("spec_types.c", ()),
    "legacy": ("spec_legacy.c", ()),
    "legacy_nobtf": ("spec_legacy.c", ("-g0",)),  # no .BTF section at all
    "section_be": ("spec_section.c", ("-target bpfeb",)),  # big-endian ELF and BTF
    "lb_ringbuf_be": ("lb_ringbuf.c", ("-target bpfeb",)),
    "legacy_maps_be": ("legacy_maps.c", ("-target bpfeb",)),
}


def _toolchain_problem() -> str | None:
    try:
        find_tool("clang")
        find_tool("llvm-strip")
        headers.include_dirs()
    except BuildError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """`compiled(name)` → path of the object for a VARIANTS entry, built on first use."""
    out = tmp_path_factory.mktemp("spec_objects")
    cache: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in cache:
            problem = _toolchain_problem()
            require(problem is None, f"cannot compile BPF test programs: {problem}")
            source, cflags = VARIANTS[name]
            target = out / f"{name}.o"
            compile_bpf(SOURCES / source, target, cflags=cflags)
            cache[name] = target
        return cache[name]

    return get


@pytest.fixture(scope="session")
def obj(compiled: Callable[[str], Path]) -> Callable[[str], bytes]:
    """`obj(name)` → the bytes of a compiled VARIANTS object."""
    return lambda name: compiled(name).read_bytes()


@pytest.fixture(scope="module")
def build(compile_c: Callable[[Path], bytes]) -> Callable[[str], bytes]:
    """`build("lb_ringbuf")` → the bytes of `tests/data/src/lb_ringbuf.c` compiled with bee's compile line."""
    return lambda name: compile_c(SOURCES / f"{name}.c")
