"""`--output MAP=KIND`: a map without a Bumblebee name (as bpfman's programs have) exported as chosen,
with real kernel events; what cannot be is refused in one sentence before anything loads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_a_map_without_a_prefix_is_exported_as_chosen(bee_run, object_file, trigger) -> None:
    run = bee_run(object_file("run_types"), "--output", "untracked=counter")
    trigger("beetrigger")
    lines = run.wait_for(lambda: run.metric_lines("ebpf_solo_io_untracked{"), what="the chosen counter")
    assert lines == ['ebpf_solo_io_untracked{key="2"} 1']
    run.stop()


def test_outputs_a_program_cannot_take_are_refused(root, object_file, store_dir: Path) -> None:
    path = object_file("run_types")
    for args, fragment in ((("--output", "nosuch=counter"), "has no map nosuch (maps: "),
                           (("--output", "untracked=hist"), "type hash is not supported for output hist"),
                           (("--output", "untracked=sum"), "'sum' is not an output"),
                           (("--output", "untracked"), "expected --output MAP=KIND")):
        proc = subprocess.run([sys.executable, "-m", "bee", "run", path, "--no-tty", "--prom-port", "0", *args],
                              capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, BEE_STORAGE=str(store_dir)))
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode != 0 and len(lines) == 1 and fragment in lines[0], proc.stderr
