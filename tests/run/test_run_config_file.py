"""`bee run --config FILE`: programs with their own names, filters and histogram buckets, the runner's format
and port from the file, and the command lines and files that are refused, through the real CLI, the real
kernel and real scrapes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.run.conftest import BeeRun, bpf_link_ids, bpf_prog_ids, free_port
from tests.run.test_several import attached_lines, healthz, scrape_until

CONFIG = """\
# two copies of run_types (one quiet) and run_tricky
programs:
  - program: {types}
    name: types
    hist_buckets: {{hist_latency: [10, 100]}}
  - program: {types}
    name: quiet
    hist_buckets: {{hist_latency: [10, 100]}}  # one map in two programs: one family, the same buckets
    filters: ["print_events,comm,^nobody$"]
  - program: {tricky}
    name: tricky
    filters: ["print_tricky,comm,^beetricky$"]
metrics: {{address: 127.0.0.1, port: {port}}}
poll_interval: 0.1
format: json
"""


@pytest.fixture
def start_config(root: None, store_dir: Path) -> Iterator[Callable[..., BeeRun]]:
    """Start `bee run --config FILE --no-tty EXTRA...` on the config's port; killed at the end if still running."""
    runs: list[BeeRun] = []

    def start(config: Path, port: int, *extra: str, wait: bool = True) -> BeeRun:
        proc = subprocess.Popen([sys.executable, "-m", "bee", "run", "--config", str(config), "--no-tty", *extra],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=dict(os.environ, BEE_STORAGE=str(store_dir)))
        run = BeeRun(proc, port)
        runs.append(run)
        if wait:
            run.wait_ready()
        return run

    yield start
    for run in runs:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait()


def write_config(tmp_path: Path, object_file: Callable[[str], str], port: int, text: str = CONFIG) -> Path:
    path = tmp_path / "runner.yaml"
    path.write_text(text.format(types=object_file("run_types"), tricky=object_file("run_tricky"), port=port))
    return path


def test_programs_run_with_their_own_options(start_config, object_file, trigger, tmp_path: Path) -> None:
    port = free_port()
    run = start_config(write_config(tmp_path, object_file, port), port)
    run.wait_for(lambda: len(attached_lines(run)) == 3, what="three attached lines")
    assert all(line.endswith(f"metrics on http://127.0.0.1:{port}/metrics") for line in attached_lines(run))
    trigger("beetrigger")
    trigger("beetricky")
    run.wait_for(lambda: run.events("print_events") and run.events("print_tricky"), what="both events")
    lines = scrape_until(run, lambda text: 'program="quiet",slot="1"} 3' in text and "gauge_tricky{" in text,
                         "the hash polls")
    # quiet's filter drops its events; the same map of `types` is not filtered
    assert [(e["program"], e["event"]["comm"]) for e in run.events("print_events")] == [("types", "beetrigger")]
    assert [(e["program"], e["event"]["comm"]) for e in run.events("print_tricky")] == [("tricky", "beetricky")]
    # metrics are not filtered: both copies count the exec, with the buckets of the config
    assert 'ebpf_solo_io_counter_ring{color="GREEN",comm="beetrigger",program="types"} 1' in lines
    assert 'ebpf_solo_io_counter_ring{color="GREEN",comm="beetrigger",program="quiet"} 1' in lines
    assert 'ebpf_solo_io_gauge_tricky{comm="beetricky",kind="NEG",program="tricky"} -42' in lines
    for name in ("types", "quiet"):
        assert [line for line in lines if line.startswith("ebpf_solo_io_hist_latency_bucket")
                and f'program="{name}"' in line] == [
            f'ebpf_solo_io_hist_latency_bucket{{comm="beetrigger",program="{name}",le="{le}"}} {count}'
            for le, count in (("10", 1), ("100", 2), ("+Inf", 3))]
    assert {line for line in lines if line.startswith("bee_program_up")} == {
        f'bee_program_up{{program="{name}"}} 1' for name in ("types", "quiet", "tricky")}
    status, ctype, body = healthz(run)
    assert (status, ctype) == (200, "application/json")
    assert json.loads(body) == {"programs": {name: {"state": "attached", "error": None}
                                             for name in ("types", "quiet", "tricky")}}
    run.stop()


def run_bee(store_dir: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bee", "run", *argv], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, BEE_STORAGE=str(store_dir)))


def test_a_bad_config_is_one_sentence_and_loads_nothing(root: None, object_file, tmp_path: Path,
                                                        store_dir: Path) -> None:
    before, links = bpf_prog_ids("on_exec"), bpf_link_ids()
    path = write_config(tmp_path, object_file, free_port(), CONFIG.replace("    name: quiet\n", "    nmae: quiet\n"))
    proc = run_bee(store_dir, "--config", str(path), "--no-tty")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(f"Error: {path}, line 7: programs[1].nmae: unknown key"), proc.stderr
    assert bpf_prog_ids("on_exec") <= before and bpf_link_ids() <= links


def test_a_filter_is_checked_against_its_own_program(root: None, object_file, tmp_path: Path,
                                                      store_dir: Path) -> None:
    before, links = bpf_prog_ids("on_exec"), bpf_link_ids()
    text = CONFIG.replace('["print_tricky,comm,^beetricky$"]', '["print_events,comm,^x$"]')
    path = write_config(tmp_path, object_file, free_port(), text)
    proc = run_bee(store_dir, "--config", str(path), "--no-tty")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == ("Error: filter 'print_events,comm,^x$' names map 'print_events', which this program "
                           "does not output (maps: gauge_tricky, print_tricky)\n")
    assert bpf_prog_ids("on_exec") <= before and bpf_link_ids() <= links


@pytest.mark.parametrize(("old", "new", "message"), [
    ("    name: tricky\n", "    name: tricky\n    hist_buckets: {hist_nosuch: [1, 2]}\n",
     "-b/--hist-buckets names map 'hist_nosuch', which this program does not output as a histogram "
     "(hist_ maps: none); check the map name with `bee describe`"),
    ("    name: tricky\n", "    name: tricky\n    hist_value_keys: {hist_nosuch: le}\n",
     "-k/--hist-value-key names map 'hist_nosuch', which this program does not output as a histogram "
     "(hist_ maps: none); check the map name with `bee describe`"),
])
def test_histogram_settings_name_maps_of_the_object(root: None, object_file, tmp_path: Path,
                                                      store_dir: Path, old: str, new: str, message: str) -> None:
    before, links = bpf_prog_ids("on_exec"), bpf_link_ids()
    escaped = new.replace("{", "{{").replace("}", "}}")  # write_config formats the text
    path = write_config(tmp_path, object_file, free_port(), CONFIG.replace(old, escaped))
    proc = run_bee(store_dir, "--config", str(path), "--no-tty")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == f"Error: {message}\n"
    assert bpf_prog_ids("on_exec") <= before and bpf_link_ids() <= links


@pytest.mark.parametrize(("argv", "message"), [
    (["PROG", "--config", "CONFIG"], "give programs either as arguments or in --config CONFIG, not both (got PROG)"),
    (["--config", "CONFIG", "--prom-port", "1234"],
     "--prom-port cannot be given with --config CONFIG: set it in the config file instead"),
    (["--config", "CONFIG", "-f", "print_events,comm,x"],
     "--filter cannot be given with --config CONFIG: set it in the config file instead"),
])
def test_refused_command_lines(object_file, tmp_path: Path, store_dir: Path, argv: list[str], message: str) -> None:
    path, prog = write_config(tmp_path, object_file, free_port()), object_file("run_types")
    replace = {"CONFIG": str(path), "PROG": prog}
    proc = run_bee(store_dir, *(replace.get(arg, arg) for arg in argv), "--no-tty")
    assert proc.returncode == 2
    assert proc.stderr == f"Error: {message.replace('CONFIG', str(path)).replace('PROG', prog)}\n"


def test_a_missing_config_file(tmp_path: Path, store_dir: Path) -> None:
    proc = run_bee(store_dir, "--config", str(tmp_path / "none.yaml"), "--no-tty")
    assert proc.returncode == 1
    assert proc.stderr == f"Error: cannot read the config file {tmp_path / 'none.yaml'}: No such file or directory\n"
