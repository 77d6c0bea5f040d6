"""`make demo`, the README's first command, as a user runs it: it builds the examples, runs them, and shows
the event log and the programs' own ebpf_solo_io_ series (not only bee's bee_* ones)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO
from tests.run.conftest import free_port


@pytest.mark.clang  # bee build --local
@pytest.mark.kernel
@pytest.mark.root
def test_make_demo_shows_events_and_an_ebpf_solo_io_series(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.run(["make", "--no-print-directory", "demo", "DEMO_TIME=8", f"DEMO_PORT={port}"], cwd=REPO,
                          env={**os.environ, "BEE_STORAGE": str(tmp_path / "store")}, capture_output=True,
                          text=True, timeout=300, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "as the histogram ebpf_solo_io_hist_runqlat_us on http://localhost:" in out  # says which, and how
    assert " print_events program=opensnoop ts=" in out  # the event log (two programs: each line names its own)
    series = [line for line in out.splitlines() if line.startswith("metrics: ebpf_solo_io_")]
    assert any(line.startswith("metrics: ebpf_solo_io_hist_runqlat_us_bucket{") for line in series), out[-3000:]
