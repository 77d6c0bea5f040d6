"""Fixtures for the `bee.libbpf` tests, which load real programs into the running kernel.

Tests that reach the kernel take the `root` fixture: it skips without root (and fails in CI).
C sources are the committed `tests/data/src/lb_*.c`, compiled once per session.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bee.elf.ringbuf_btf import untype_ring_buffers
from bee.libbpf import BpfObject
from tests.helpers import DATA, require

SOURCES = DATA / "src"


@pytest.fixture(scope="session")
def lb_object(compile_c: Callable[[Path], bytes]) -> Callable[[str], bytes]:
    """The compiled bytes of `tests/data/src/<name>.c`."""

    def build(name: str) -> bytes:
        return compile_c(SOURCES / f"{name}.c")

    return build


@pytest.fixture
def root() -> None:
    """Require root: loading and attaching programs needs it."""
    require(os.geteuid() == 0, "needs root to load BPF programs")


@pytest.fixture
def open_object(lb_object: Callable[[str], bytes]) -> Iterator[Callable[..., BpfObject]]:
    """Open `lb_<name>` objects that are closed when the test ends: as `bee run` hands them to libbpf
    (ring buffers without BTF key/value types, `bee.run.fixups`), or as compiled with `raw=True`."""
    opened: list[BpfObject] = []

    def open_(name: str, *, raw: bool = False, **kwargs: object) -> BpfObject:
        data = lb_object(name) if raw else untype_ring_buffers(lb_object(name), name)
        obj = BpfObject.open(data, name, **kwargs)  # type: ignore[arg-type]
        opened.append(obj)
        return obj

    yield open_
    for obj in reversed(opened):
        obj.close()
