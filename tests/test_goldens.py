"""The committed test objects (tests/data/obj) are complete, parse, and are what `make testdata` builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from bee.elf import load_spec
from tests.goldens import GOLDENS, OBJECTS, build, toolchain_problem
from tests.helpers import require


def test_every_test_program_has_its_committed_object_and_no_other() -> None:
    assert sorted(p.stem for p in OBJECTS.glob("*.o")) == sorted(GOLDENS), "run `make testdata`"
    for golden in GOLDENS.values():
        spec = load_spec(golden.path.read_bytes(), golden.path.name)
        assert spec.programs or spec.maps, golden.name


@pytest.mark.clang
def test_committed_objects_are_what_make_testdata_builds(tmp_path: Path) -> None:
    problem = toolchain_problem()
    require(problem is None, f"cannot check the golden objects: {problem}")
    stale = []
    for golden in GOLDENS.values():
        fresh = tmp_path / f"{golden.name}.o"
        build(golden, fresh)
        if fresh.read_bytes() != golden.path.read_bytes():
            stale.append(golden.name)
    assert stale == [], f"run `make testdata`: these committed objects differ from their sources: {stale}"
