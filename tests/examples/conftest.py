"""Fixtures for the example tests: every example built once per session into one store.

`bee_run`, `trigger` and `object_file` come from the `bee run` tests; `store_dir` is overridden so that
`bee_run` runs the examples by reference from the session's store, as their READMEs do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, require
from tests.run.conftest import bee_run, object_file, trigger

__all__ = ["bee_run", "object_file", "trigger"]

EXAMPLES = REPO / "examples"
VERSION = "0.1"


def example_names() -> list[str]:
    """Every directory `examples/<name>/` holding `<name>.c`."""
    return sorted(d.name for d in EXAMPLES.iterdir() if (d / f"{d.name}.c").is_file())


def make(store: Path, objects: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`make -j4 ARGS...` in the repository, its set-up step skipped, bee storing into `store`."""
    return subprocess.run(
        ["make", "-C", str(REPO), "--no-print-directory", "-j4", "-o", "setup", f"BEE={sys.executable} -m bee",
         f"EXAMPLES_OUT={objects}", *args],
        env=dict(os.environ, BEE_STORAGE=str(store)), capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="session")
def examples_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding every example as `<name>:0.1`, built by `make examples` (`bee build ... --local`)."""
    require(shutil.which("make") is not None, "needs make")
    store = tmp_path_factory.mktemp("examples-store")
    proc = make(store, tmp_path_factory.mktemp("examples-objects"), "examples")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return store


@pytest.fixture
def store_dir(examples_store: Path) -> Path:
    return examples_store
