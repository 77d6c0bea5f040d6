"""`bee run` of several programs in one process: names, event lines, metric labels, /healthz, failure
isolation and --fail-fast, through the real CLI, the real kernel and real scrapes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tests.run.conftest import BeeRun, bpf_link_ids, bpf_prog_ids


def healthz(run: BeeRun) -> tuple[int, str, str]:
    """(status, content type, body) of the run's /healthz, 503 included."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{run.port}/healthz", timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def attached_lines(run: BeeRun) -> list[str]:
    return [line for line in run.stderr_lines if line.startswith("bee: attached")]


def scrape_until(run: BeeRun, done: Callable[[str], bool], what: str) -> list[str]:
    """The metric lines of the first scrape for which `done(text)` holds."""
    found: list[str] = []

    def check() -> bool:
        text = run.scrape()
        found[:] = text.splitlines()
        return done(text)

    run.wait_for(check, what=what)
    return found


def sha256_of(path: str) -> str:
    return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_two_programs_share_one_process(bee_run, object_file, trigger) -> None:
    types, tricky = object_file("run_types"), object_file("run_tricky")
    run = bee_run(types, tricky)
    run.wait_for(lambda: len(attached_lines(run)) == 2, what="both attached lines")
    assert attached_lines(run) == [
        f"bee: attached 1 program from {path} (sched/sched_process_exec); "
        f"metrics on http://[::1]:{run.port}/metrics" for path in (types, tricky)]
    trigger("beetrigger")
    trigger("beetricky")
    run.wait_for(lambda: run.events("print_events") and run.events("print_tricky"), what="both events")
    [event] = run.events("print_events")
    [other] = run.events("print_tricky")
    assert (event["program"], event["event"]["comm"]) == ("run_types", "beetrigger")
    assert (other["program"], other["event"]["comm"]) == ("run_tricky", "beetricky")
    assert list(event) == ["time", "map", "program", "event"]

    lines = scrape_until(run, lambda text: 'slot="1"} 3' in text, "the hash poll")
    assert 'ebpf_solo_io_counter_hash{comm="beetrigger",program="run_types",slot="1"} 3' in lines
    assert 'ebpf_solo_io_gauge_tricky{comm="beetricky",kind="NEG",program="run_tricky"} -42' in lines
    assert 'ebpf_solo_io_counter_ring{color="GREEN",comm="beetrigger",program="run_types"} 1' in lines
    assert 'bee_events_read_total{map="print_tricky",program="run_tricky"} 1' in lines
    assert 'bee_program_up{program="run_types"} 1' in lines and 'bee_program_up{program="run_tricky"} 1' in lines
    assert (f'bee_program_info{{digest="{sha256_of(types)}",location="{types}",program="run_types"}} 1'
            in lines)
    assert all("program=" in line for line in lines if line.startswith("ebpf_solo_io_"))

    status, ctype, body = healthz(run)
    assert (status, ctype) == (200, "application/json")
    assert json.loads(body) == {"programs": {"run_types": {"state": "attached", "error": None},
                                             "run_tricky": {"state": "attached", "error": None}}}
    run.stop()


def test_text_lines_name_the_program_after_the_map(bee_run, object_file, trigger) -> None:
    run = bee_run(object_file("run_types"), object_file("run_tricky"), fmt="text")
    run.wait_for(lambda: len(attached_lines(run)) == 2, what="both attached lines")
    trigger("beetrigger")
    line = run.wait_for(lambda: next((x for x in run.stdout_lines if " print_events " in x), None), what="event")
    assert str(line).split(" ")[1:4] == ["print_events", "program=run_types", "small=200"]
    run.stop()


def test_the_same_maps_in_two_programs_share_families(bee_run, object_file, trigger, tmp_path: Path) -> None:
    first = object_file("run_types")
    second = tmp_path / "again" / "copy.o"
    second.parent.mkdir()
    shutil.copy(first, second)
    run = bee_run(first, str(second))
    run.wait_for(lambda: len(attached_lines(run)) == 2, what="both attached lines")
    trigger("beetrigger")
    run.wait_for(lambda: len(run.events("print_events")) == 2, what="one event from each")
    assert sorted(e["program"] for e in run.events("print_events")) == ["copy", "run_types"]
    lines = scrape_until(run, lambda text: text.count('slot="1"} 3') == 2, "both polls")
    assert lines.count("# TYPE ebpf_solo_io_counter_hash counter") == 1
    assert [line for line in lines if line.startswith("ebpf_solo_io_counter_hash")] == [
        'ebpf_solo_io_counter_hash{comm="beetrigger",program="copy",slot="1"} 3',
        'ebpf_solo_io_counter_hash{comm="beetrigger",program="run_types",slot="1"} 3']
    run.stop()


def test_a_program_that_fails_leaves_the_others_running(bee_run, object_file, trigger) -> None:
    run = bee_run(object_file("run_types"), object_file("lb_reject"))
    warnings = [line for line in run.stderr_lines if line.startswith("bee: warning:")]
    assert len(warnings) == 1 and warnings[0].startswith(
        f"bee: warning: program lb_reject ({object_file('lb_reject')}) did not start: program lb_out_of_bounds "
        "(section raw_tracepoint/sys_exit) was rejected by the verifier: ")
    assert len(attached_lines(run)) == 1
    trigger("beetrigger")
    run.wait_for(lambda: run.events("print_events"), what="the event")
    assert run.events("print_events")[0]["program"] == "run_types"
    lines = run.scrape().splitlines()
    assert 'bee_program_up{program="run_types"} 1' in lines and 'bee_program_up{program="lb_reject"} 0' in lines
    status, ctype, body = healthz(run)
    assert (status, ctype) == (503, "application/json")
    states = json.loads(body)["programs"]
    assert states["run_types"] == {"state": "attached", "error": None}
    assert states["lb_reject"]["state"] == "failed"
    assert "rejected by the verifier" in states["lb_reject"]["error"]
    run.stop()


def test_fail_fast_ends_the_run_with_nothing_attached(bee_run, object_file) -> None:
    before = bpf_prog_ids("on_exec")
    links = bpf_link_ids()
    run = bee_run(object_file("run_types"), object_file("lb_reject"), "--fail-fast", wait=False)
    assert run.proc.wait(30) == 1
    assert not attached_lines(run) and not any("warning" in line for line in run.stderr_lines)
    assert run.stderr_lines[-1].startswith("Error: program lb_out_of_bounds (section raw_tracepoint/sys_exit) "
                                           "was rejected by the verifier")
    assert bpf_prog_ids("on_exec") <= before and bpf_link_ids() <= links


def test_no_program_attached_fails_with_the_first_error(bee_run, object_file, tmp_path: Path) -> None:
    before = bpf_prog_ids("on_exec")
    run = bee_run(str(tmp_path / "missing.o"), object_file("lb_reject"), wait=False)
    assert run.proc.wait(30) == 1
    assert len([line for line in run.stderr_lines if line.startswith("bee: warning:")]) == 2
    assert run.stderr_lines[-1] == f"Error: {tmp_path / 'missing.o'} does not exist"
    assert bpf_prog_ids("on_exec") <= before


def test_two_programs_of_the_same_name_are_refused(tmp_path: Path, store_dir: Path) -> None:
    (tmp_path / "x").mkdir()
    for path in (tmp_path / "probe.o", tmp_path / "x" / "probe.o"):
        path.write_bytes(b"not read")
    proc = subprocess.run([sys.executable, "-m", "bee", "run", str(tmp_path / "probe.o"), str(tmp_path / "x/probe.o"),
                           "--no-tty"], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, BEE_STORAGE=str(store_dir)))
    assert proc.returncode == 2
    assert proc.stderr == (f"Error: programs {tmp_path / 'probe.o'} and {tmp_path / 'x/probe.o'} would both be "
                           "named probe; run one of them from a file or reference of another name\n")


def test_one_program_keeps_its_output_and_gains_program_series(
        bee_run: Callable[..., BeeRun], object_file, trigger) -> None:
    path = object_file("run_types")
    run = bee_run(path)
    assert run.scrape("/healthz") == "ok\n"
    trigger("beetrigger")
    run.wait_for(lambda: run.events("print_events"), what="the event")
    assert "program" not in run.events("print_events")[0]
    lines = scrape_until(run, lambda text: 'slot="1"} 3' in text, "the hash poll")
    assert 'ebpf_solo_io_counter_hash{comm="beetrigger",slot="1"} 3' in lines
    assert 'bee_events_read_total{map="print_events"} 1' in lines
    assert 'bee_program_up{program="run_types"} 1' in lines
    assert f'bee_program_info{{digest="{sha256_of(path)}",location="{path}",program="run_types"}} 1' in lines
    run.stop()


def test_a_reference_that_cannot_be_pulled_leaves_the_others_running(bee_run, object_file, trigger) -> None:
    run = bee_run(object_file("run_types"), "127.0.0.1:1/probes/unreachable:v1")
    [warning] = [line for line in run.stderr_lines if line.startswith("bee: warning:")]
    assert warning.startswith("bee: warning: program unreachable (127.0.0.1:1/probes/unreachable:v1) did not start: ")
    assert len(attached_lines(run)) == 1
    status, _, body = healthz(run)
    assert status == 503 and json.loads(body)["programs"]["unreachable"]["state"] == "failed"
    assert 'bee_program_up{program="unreachable"} 0' in run.scrape().splitlines()
    run.stop()


def test_a_name_that_is_not_a_reference(bee_run, object_file, store_dir: Path) -> None:
    """Alone: one sentence, exit 1, nothing loaded; next to another program: a warning, the other runs."""
    before = bpf_link_ids()
    proc = subprocess.run([sys.executable, "-m", "bee", "run", "Probes//Bad:v1", "--no-tty"], capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, BEE_STORAGE=str(store_dir)))
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == 'Error: invalid reference "Probes//Bad:v1": repository names must be lowercase\n'
    assert bpf_link_ids() <= before
    run = bee_run(object_file("run_types"), "Probes//Bad:v1")
    [warning] = [line for line in run.stderr_lines if line.startswith("bee: warning:")]
    assert warning == ('bee: warning: program Probes//Bad:v1 (Probes//Bad:v1) did not start: invalid reference '
                       '"Probes//Bad:v1": repository names must be lowercase')
    assert len(attached_lines(run)) == 1
    run.stop()
