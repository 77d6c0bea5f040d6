"""Every skeleton `bee init` accepts runs: built with `bee build --local`, attached by `bee run`, and its map
gives events or series after a real event (an open for FileSystem, a TCP connection for Network)."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from bee.scaffold import OUTPUTS_OF, PROGRAM_TYPES

COMBINATIONS = [(p, m, o) for p in PROGRAM_TYPES for m, outputs in OUTPUTS_OF.items() for o in outputs]


def _cause(program_type: str, tmp_path: Path) -> None:
    """An event for the skeleton's hook: an openat(2), or a TCP connection on loopback."""
    if program_type == "FileSystem":
        (tmp_path / "opened").write_text("x")
        subprocess.run(["cat", str(tmp_path / "opened")], capture_output=True, check=False)
        return
    with socket.create_server(("127.0.0.1", 0)) as server, socket.create_connection(server.getsockname(), timeout=5):
        server.accept()[0].close()


@pytest.mark.clang  # bee build --local
@pytest.mark.parametrize(("program_type", "map_type", "output_type"), COMBINATIONS,
                         ids=["-".join(combo) for combo in COMBINATIONS])
def test_every_skeleton_init_accepts_runs(bee, bee_run, tmp_path: Path, program_type: str, map_type: str,
                                          output_type: str) -> None:
    source = tmp_path / "skel.c"
    made = bee("init", "--program-type", program_type, "-m", map_type, "-o", output_type, "-f", str(source))
    assert made.returncode == 0, made.stderr
    built = bee("build", str(source), "--local", "--binary-only")
    assert built.returncode == 0, built.stderr
    run = bee_run(str(tmp_path / "skel.o"), fmt="text")
    map_name = f"{output_type}_events"
    assert f"bee: exporting {map_name} ({output_type}) from {tmp_path / 'skel.o'}" in run.stderr_lines
    assert not [line for line in run.stderr_lines if line.startswith("bee: notice:")], run.stderr_lines

    def seen() -> bool:
        _cause(program_type, tmp_path)
        if output_type == "print":
            return any(f" {map_name} " in line for line in run.stdout_lines)
        return any(line.startswith(f"ebpf_solo_io_{map_name}") and float(line.rsplit(" ", 1)[1]) > 0
                   for line in run.scrape().splitlines())

    run.wait_for(seen, what=f"an event or series of {map_name}")
    run.stop()


def test_the_combinations_are_those_init_offers() -> None:
    assert len(COMBINATIONS) == 10 and ("Network", "RingBuffer", "gauge") not in COMBINATIONS
