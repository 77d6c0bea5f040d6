"""`bee run` against faults at run time: pins that cannot all be made, output that goes
nowhere, and clients of the metrics endpoint that connect and do not ask. Real kernel, real bpffs,
real pipes and sockets; nothing is mocked."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from tests.helpers import assert_one_line_error, require
from tests.run.conftest import bpf_link_ids, bpf_prog_ids


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


def _start_run(object_path: str, store_dir: Path, stdout: int | IO[bytes]) -> tuple[subprocess.Popen[bytes], set[int]]:
    """`bee run` of `object_path` writing events to `stdout`; returns it once attached, with the ids of the
    programs it loaded (read from the kernel)."""
    before = bpf_prog_ids("on_exec")
    proc = subprocess.Popen([sys.executable, "-m", "bee", "run", object_path, "--no-tty", "--format", "json",
                             "--prom-port", "0"], stdout=stdout, stderr=subprocess.PIPE,
                            env=dict(os.environ, BEE_STORAGE=str(store_dir)))
    assert proc.stderr is not None
    lines = [proc.stderr.readline().decode()]
    while lines[-1].startswith("bee: exporting"):  # the maps it exports, then the "attached" line
        lines.append(proc.stderr.readline().decode())
    if not lines[-1].startswith("bee: attached"):
        proc.kill()
        raise AssertionError("".join(lines) + proc.stderr.read().decode())
    mine = bpf_prog_ids("on_exec") - before
    assert mine and bpf_link_ids(mine)
    return proc, mine


def _assert_detached(mine: set[int]) -> None:
    assert not bpf_prog_ids("on_exec") & mine, "the run's program is still loaded"
    assert not bpf_link_ids(mine), "the run's program is still attached"


def test_a_reader_that_goes_away_ends_the_run_cleanly(root: None, store_dir: Path, object_file, trigger) -> None:
    """`bee run | head -c 200`: once the reader exits, the run ends with status 0 and detaches everything."""
    proc, mine = _start_run(object_file("run_types"), store_dir, subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    trigger("beetrigger")
    assert proc.stdout.read(200).startswith(b'{"time": ')
    proc.stdout.close()  # what `head -c 200` does when it has read enough
    trigger("beetrigger")  # the next write meets the closed pipe (the idle check would also notice)
    assert proc.wait(timeout=30) == 0
    rest = proc.stderr.read().decode()
    assert "Error" not in rest and "Traceback" not in rest and "Exception" not in rest, rest
    _assert_detached(mine)


def test_a_reader_that_goes_away_while_no_event_comes_ends_the_run(root: None, store_dir: Path, object_file) -> None:
    """No event is written after the reader left: the run notices the closed pipe all the same."""
    proc, mine = _start_run(object_file("run_types"), store_dir, subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    assert proc.wait(timeout=30) == 0
    rest = proc.stderr.read().decode()
    assert "Error" not in rest and "Traceback" not in rest and "Exception" not in rest, rest
    _assert_detached(mine)


def test_a_write_error_is_said_once_and_ends_the_run(root: None, store_dir: Path, object_file, trigger) -> None:
    """Events to a full disk (/dev/full): one sentence naming the error, exit 1, everything detached."""
    with open("/dev/full", "wb") as full:
        proc, mine = _start_run(object_file("run_types"), store_dir, full)
    assert proc.stderr is not None
    trigger("beetrigger")
    assert proc.wait(timeout=30) == 1
    lines = proc.stderr.read().decode().splitlines()
    assert lines == ["Error: cannot write events to standard output: No space left on device; the run ended "
                     "(1 event not written)"], lines
    _assert_detached(mine)


def test_a_failed_start_of_several_programs_leaves_none_of_their_pins(bee, object_file, pins: Path) -> None:
    """With --fail-fast, the second program's pin failure ends the run: the first program's pins go too."""
    _pin_placeholder(pins / "maps" / "tui_flood" / "counter_sent")  # run_types is attached and pinned first
    before = bpf_prog_ids("on_exec")
    proc = bee("run", object_file("run_types"), object_file("tui_flood"), "--fail-fast", "--no-tty", "--prom-port",
               "0", "--pin-maps", str(pins / "maps"))
    assert proc.returncode == 1
    assert_one_line_error(proc, "counter_sent", str(pins / "maps" / "tui_flood" / "counter_sent"))
    assert _everything_under(pins) == {"maps", "maps/tui_flood", "maps/tui_flood/counter_sent"}  # only ours
    assert bpf_prog_ids("on_exec") <= before
