"""Fixtures for the `bee.libbpf` tests, which load real programs into the running kernel.

Tests that reach the kernel take the `root` fixture (tests/conftest.py), which marks them `root`
and `kernel`. Programs are the committed objects of `tests/data/src/lb_*.c` (tests/data/obj).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from bee.elf.ringbuf_btf import untype_ring_buffers
from bee.libbpf import BpfObject
from tests.goldens import object_bytes


@pytest.fixture(scope="session")
def lb_object() -> Callable[[str], bytes]:
    """The committed object of `tests/data/src/<name>.c`."""
    return object_bytes


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
