"""The committed objects (tests/data/obj) the `bee.elf` tests parse: no compiler, no kernel."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.goldens import object_bytes, object_path

# short name → committed object (tests/goldens.py builds each from tests/data/src)
VARIANTS: dict[str, str] = {
    "prefix": "spec_prefix",
    "section": "spec_section",
    "types": "spec_types",
    "legacy": "spec_legacy",
    "legacy_nobtf": "spec_legacy_nobtf",  # no .BTF section at all
    "section_be": "spec_section_be",  # big-endian ELF and BTF
    "lb_ringbuf_be": "lb_ringbuf_be",
    "legacy_maps_be": "legacy_maps_be",
}


@pytest.fixture(scope="session")
def compiled() -> Callable[[str], Path]:
    """`compiled(name)` → path of the committed object for a VARIANTS entry."""
    return lambda name: object_path(VARIANTS[name])


@pytest.fixture(scope="session")
def obj() -> Callable[[str], bytes]:
    """`obj(name)` → the bytes of the committed object for a VARIANTS entry."""
    return lambda name: object_bytes(VARIANTS[name])


@pytest.fixture(scope="module")
def build() -> Callable[[str], bytes]:
    """`build("lb_ringbuf")` → the bytes of the committed object of `tests/data/src/lb_ringbuf.c`."""
    return object_bytes
