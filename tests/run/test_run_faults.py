"""`bee run` against faults at run time (issue 15): pins that cannot all be made, output that goes
nowhere, and clients of the metrics endpoint that connect and do not ask. Real kernel, real bpffs,
real pipes and sockets; nothing is mocked."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import assert_one_line_error, require
from tests.run.conftest import bpf_prog_ids


@pytest.fixture
def pins(root: None) -> Iterator[Path]:
    """A directory of its own on the real bpffs at /sys/fs/bpf, removed afterwards."""
    require(Path("/sys/fs/bpf").is_dir(), "needs bpffs at /sys/fs/bpf")
    path = Path("/sys/fs/bpf") / f"bee-faults-{os.getpid()}"
    path.mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _pin_placeholder(path: Path) -> None:
    """Pin a map of our own at `path` (as another tool would have left it), so bee's pin there fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["bpftool", "map", "create", str(path), "type", "array", "key", "4", "value", "4", "entries", "1",
                    "name", "beefaultpin"], check=True, capture_output=True)


def _everything_under(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


def test_a_map_pin_that_exists_undoes_the_pins_made_before_it(bee, object_file, pins: Path) -> None:
    _pin_placeholder(pins / "maps" / "gauge_hash")  # print_events, counter_ring... come before it
    before = bpf_prog_ids("on_exec")
    proc = bee("run", object_file("run_types"), "--no-tty", "--prom-port", "0", "--pin-maps", str(pins / "maps"),
               "--pin-progs", str(pins / "progs"))
    assert_one_line_error(proc, "gauge_hash", str(pins / "maps" / "gauge_hash"))
    assert proc.returncode == 1
    assert _everything_under(pins) == {"maps", "maps/gauge_hash"}  # only our own pin: none of bee's
    assert bpf_prog_ids("on_exec") <= before  # no program left loaded


def test_a_program_pin_that_exists_undoes_the_map_pins_too(bee, object_file, pins: Path) -> None:
    _pin_placeholder(pins / "progs" / "on_exec")
    before = bpf_prog_ids("on_exec")
    proc = bee("run", object_file("run_types"), "--no-tty", "--prom-port", "0", "--pin-maps", str(pins / "maps"),
               "--pin-progs", str(pins / "progs"))
    assert_one_line_error(proc, "on_exec", str(pins / "progs" / "on_exec"))
    assert proc.returncode == 1
    assert _everything_under(pins) == {"progs", "progs/on_exec"}  # the maps directory bee made is gone too
    assert bpf_prog_ids("on_exec") <= before
