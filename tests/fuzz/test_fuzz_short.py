"""Every fuzz target under atheris (libFuzzer) for a short time, from the committed seeds: none may find an
exception other than BeeError, a hang (an input over 10 s) or unbounded memory (over 2 GiB).

BEE_FUZZ_SECONDS (default 30) sets the time per target; targets run two at a time. `make fuzz` runs them
longer (fuzz/README.md). A finding is not saved from here: the failure shows the input (libFuzzer's
hex and base64 lines), and `python -m fuzz.run TARGET` reproduces and saves it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from fuzz.targets import REPO, TARGETS

pytestmark = pytest.mark.fuzz
SECONDS = int(os.environ.get("BEE_FUZZ_SECONDS", "30"))


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    work = tmp_path_factory.mktemp("fuzz")
    report = work / "outcomes.json"
    done = subprocess.run(
        [sys.executable, "-m", "fuzz.run", "--seconds", str(SECONDS), "--jobs", "2", "--no-save",
         "--work", str(work / "work"), "--json", str(report)],
        cwd=REPO, capture_output=True, text=True, timeout=len(TARGETS) * (SECONDS + 150))
    assert report.exists(), done.stderr[-3000:]
    return {o["target"]: o for o in json.loads(report.read_text())}


@pytest.mark.parametrize("name", list(TARGETS))
def test_target_survives_a_short_run(outcomes: dict[str, dict[str, Any]], name: str) -> None:
    outcome = outcomes[name]
    assert outcome["findings"] == [], outcome["error"]
    assert outcome["exit_status"] == 0, outcome["error"]
    # it really ran: many inputs, and libFuzzer saw coverage in bee's code
    assert outcome["executions"] >= 100, outcome
    assert outcome["coverage"] > 0, outcome
