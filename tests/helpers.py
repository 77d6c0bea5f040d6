"""Helpers tests import: the CI rule for skips, paths, and output assertions."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"


def strict() -> bool:
    """True in CI, where every test must really run."""
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("CI", "BEE_STRICT"))


def require(condition: bool, reason: str) -> None:
    """Skip (or, in CI, fail) the calling test unless `condition` holds."""
    if condition:
        return
    if strict():
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """A failed command printed exactly one line on stderr, with no traceback, containing `fragments`."""
    assert proc.returncode != 0, proc
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], proc.stderr
