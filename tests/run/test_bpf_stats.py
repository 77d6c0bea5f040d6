"""`bee run --bpf-stats`: what each BPF program costs the kernel, through the real CLI, the real kernel, real
scrapes, and bpftool as the oracle; the statistics are off again once bee has exited, however it exits.

The program is tests/data/src/fleet_execs.c: its one BPF program (`count_exec`) runs at every exec on the
machine and counts those of processes named `fleet-*` by name, so the execs a test causes under a name of
its own are counted exactly (other tests share the kernel), and the runs are at least as many.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bee.libbpf import BpfObject, Program
from bee.libbpf.system import bpf_stats_sysctl
from bee.run.settings import RunSettings
from tests.goldens import object_bytes
from tests.netns import udp_frame
from tests.run.conftest import BeeRun, free_port
from tests.run.support import running
from tests.run.test_reload import QUIET, TRICKY, TYPES, configmap, reload_lines  # noqa: F401  (fixture)
from tests.run.test_run_config_file import start_config  # noqa: F401  (fixture)
from tests.run.test_several import healthz, scrape_until

SERIES = re.compile(r'^(bee_bpf_runs_total|bee_bpf_run_seconds_total)\{([^}]*)\} (\S+)$')


def bpf_series(text: str) -> dict[tuple[str, str], float]:
    """{(family, labels): value} of the bee_bpf_* series of an exposition."""
    found = {}
    for line in text.splitlines():
        match = SERIES.match(line)
        if match:
            found[(match[1], match[2])] = float(match[3])
    return found


def bpftool_show(prog_id: int) -> dict[str, object]:
    shown: dict[str, object] = json.loads(subprocess.run(
        ["bpftool", "-j", "prog", "show", "id", str(prog_id)], capture_output=True, text=True, check=True).stdout)
    return shown


def execs(run: BeeRun, name: str) -> int:
    """The program's count of execs of processes named `name` (0 before the first)."""
    lines = run.metric_lines(f'ebpf_solo_io_counter_execs{{comm="{name}"}}')
    return int(float(lines[0].rsplit(" ", 1)[1])) if lines else 0


@pytest.fixture
def own_xdp(root: None) -> Iterator[Program]:
    """An XDP program loaded by the test itself and never attached: it runs only when the test runs it
    (BPF_PROG_TEST_RUN), so its counts say exactly whether the kernel's statistics are on."""
    with BpfObject.open(object_bytes("lb_net"), "lb_net") as obj:
        obj.load()
        yield obj.program("lb_xdp_count")


def counted(program: Program, repeat: int = 20) -> int:
    """How many of `repeat` test runs of `program` the kernel's statistics counted."""
    before = program.run_stats().runs
    program.test_run(udp_frame(7777), repeat=repeat)
    return program.run_stats().runs - before


def test_runs_and_run_time_per_bpf_program_agree_with_bpftool(bee_run, object_file, trigger) -> None:
    sysctl_before = bpf_stats_sysctl()
    run = bee_run(object_file("fleet_execs"), "--bpf-stats")
    for _ in range(5):
        trigger("fleet-bpfstats")
    run.wait_for(lambda: execs(run, "fleet-bpfstats") == 5, what="the 5 execs counted")
    first = bpf_series(run.scrape())
    runs, seconds = first[("bee_bpf_runs_total", 'bpf_program="count_exec"')], \
        first[("bee_bpf_run_seconds_total", 'bpf_program="count_exec"')]
    assert set(first) == {("bee_bpf_runs_total", 'bpf_program="count_exec"'),
                          ("bee_bpf_run_seconds_total", 'bpf_program="count_exec"')}
    assert runs >= 5 and seconds > 0
    # /healthz answers JSON with the same counts, the mean and the program's id
    status, ctype, body = healthz(run)
    assert (status, ctype) == (200, "application/json")
    program = json.loads(body)["programs"]["fleet_execs"]
    assert program["state"] == "attached"
    entry = program["bpf_stats"]["count_exec"]
    # bpftool, read between two scrapes, sees the same program's counters between theirs
    shown = bpftool_show(entry["prog_id"])
    last = bpf_series(run.scrape())
    assert shown["name"] == "count_exec"
    assert runs <= shown["run_cnt"] <= last[("bee_bpf_runs_total", 'bpf_program="count_exec"')]
    later = last[("bee_bpf_run_seconds_total", 'bpf_program="count_exec"')]
    assert round(seconds * 1e9) <= shown["run_time_ns"] <= round(later * 1e9)  # type: ignore[operator]
    assert entry["runs"] <= shown["run_cnt"] and entry["run_time_ns"] <= shown["run_time_ns"]
    assert entry["ns_per_run"] == pytest.approx(entry["run_time_ns"] / entry["runs"], abs=0.051)  # to 0.1 ns
    assert bpf_stats_sysctl() == sysctl_before  # on through a descriptor: the sysctl is not touched
    run.stop()
    run.wait_for(lambda: any("bee: bpf stats:" in line for line in run.stderr_lines), what="the exit line")
    [line] = [line for line in run.stderr_lines if line.startswith("bee: bpf stats:")]
    match = re.fullmatch(r"bee: bpf stats: count_exec \(fleet_execs\): (\d+) runs, [\d.]+ (ns|us|ms|s) in all, "
                         r"(\d+) ns per run", line)
    assert match, line
    assert int(match[1]) >= shown["run_cnt"]  # type: ignore[operator]
    assert int(match[3]) > 0
    assert run.stderr_lines.index(line) == len(run.stderr_lines) - 1  # said last
    assert bpf_stats_sysctl() == sysctl_before


def test_without_the_option_there_are_no_series_and_healthz_stays_plain(bee_run, object_file, trigger) -> None:
    run = bee_run(object_file("fleet_execs"))
    trigger("fleet-nostats")
    run.wait_for(lambda: execs(run, "fleet-nostats") == 1, what="the exec counted")
    assert [line for line in run.scrape().splitlines() if "bee_bpf_" in line] == []
    assert healthz(run) == (200, "text/plain", "ok\n")
    run.stop()
    assert not [line for line in run.stderr_lines if "bpf stats" in line]


def test_several_programs_label_their_bpf_programs(bee_run, object_file, trigger) -> None:
    run = bee_run(object_file("fleet_execs"), object_file("run_types"), "--bpf-stats")
    trigger("fleet-several")
    lines = scrape_until(run, lambda text: 'comm="fleet-several"' in text, "the exec counted")
    series = bpf_series("\n".join(lines))
    assert set(series) == {(family, f'bpf_program="{function}",program="{program}"')
                           for family in ("bee_bpf_runs_total", "bee_bpf_run_seconds_total")
                           for function, program in (("count_exec", "fleet_execs"), ("on_exec", "run_types"))}
    assert all(value > 0 for value in series.values())
    body = json.loads(healthz(run)[2])
    assert set(body["programs"]["run_types"]["bpf_stats"]) == {"on_exec"}
    assert set(body["programs"]["fleet_execs"]["bpf_stats"]) == {"count_exec"}
    run.stop()
    run.wait_for(lambda: sum("bee: bpf stats:" in line for line in run.stderr_lines) == 2, what="two exit lines")


def test_without_cap_sys_admin_one_warning_and_the_run_goes_on(root, store_dir: Path, object_file, trigger) -> None:
    """The kernel refuses BPF_ENABLE_STATS (EPERM) to a bee holding CAP_BPF and CAP_PERFMON only."""
    port = free_port()
    proc = subprocess.Popen(
        ["setpriv", "--inh-caps=-sys_admin", "--bounding-set=-sys_admin", sys.executable, "-m", "bee", "run",
         object_file("fleet_execs"), "--no-tty", "--format", "json", "--poll-interval", "0.1", "--prom-port",
         str(port), "--bpf-stats"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, BEE_STORAGE=str(store_dir)))
    run = BeeRun(proc, port)
    try:
        run.wait_ready()
        trigger("fleet-noadmin")
        run.wait_for(lambda: execs(run, "fleet-noadmin") == 1, what="the exec counted")
        assert [line for line in run.scrape().splitlines() if "bee_bpf_" in line] == []
        assert healthz(run) == (200, "text/plain", "ok\n")
        run.stop()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert run.stderr_lines[0] == ("bee: warning: --bpf-stats: turning BPF run-time statistics on needs "
                                   "CAP_SYS_ADMIN; the run goes on without bee_bpf_* series")
    assert not [line for line in run.stderr_lines if "bpf stats:" in line]


def test_a_reload_takes_a_removed_programs_series_along(start_config, configmap, trigger) -> None:  # noqa: F811
    """With a runner config, `--bpf-stats` still applies; a program a reload removes leaves no series, one it
    adds gets its own, and a kept one goes on counting with the same BPF program."""
    config, port = configmap
    config.update(TYPES, TRICKY)
    run = start_config(config.path, port, "--bpf-stats")
    run.wait_for(lambda: len([ln for ln in run.stderr_lines if ln.startswith("bee: attached")]) == 2,
                 what="two attached lines")
    trigger("beetrigger")
    before = bpf_series("\n".join(scrape_until(
        run, lambda text: 'bee_bpf_runs_total{bpf_program="on_exec",program="tricky"}' in text, "tricky's series")))
    assert {labels for _, labels in before} == {'bpf_program="on_exec",program="types"',
                                                 'bpf_program="on_exec",program="tricky"'}
    kept = json.loads(healthz(run)[2])["programs"]["types"]["bpf_stats"]["on_exec"]
    config.update(TYPES, QUIET)
    run.wait_for(lambda: reload_lines(run), what="the reload line")
    trigger("beetrigger")
    after = bpf_series("\n".join(scrape_until(
        run, lambda text: 'bee_bpf_runs_total{bpf_program="on_exec",program="quiet"}' in text, "quiet's series")))
    assert {labels for _, labels in after} == {'bpf_program="on_exec",program="types"',
                                                'bpf_program="on_exec",program="quiet"'}
    runs = ("bee_bpf_runs_total", 'bpf_program="on_exec",program="types"')
    assert after[runs] >= before[runs] + 1
    programs = json.loads(healthz(run)[2])["programs"]
    assert set(programs) == {"types", "quiet"}
    assert programs["types"]["bpf_stats"]["on_exec"]["prog_id"] == kept["prog_id"]
    assert programs["quiet"]["bpf_stats"]["on_exec"]["prog_id"] != kept["prog_id"]
    run.stop()


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["signalled", "killed"])
def test_statistics_are_off_again_once_bee_has_exited(bee_run, object_file, own_xdp: Program, how: int) -> None:
    """Counted while bee runs with --bpf-stats, and no more once it has exited, even killed (the kernel
    closes its descriptor); the sysctl never moves."""
    sysctl_before = bpf_stats_sysctl()
    if sysctl_before == 0:
        assert counted(own_xdp) == 0
    run = bee_run(object_file("fleet_execs"), "--bpf-stats")
    assert counted(own_xdp) == 20
    if how == signal.SIGINT:
        run.stop()
    else:
        run.proc.kill()
        run.proc.wait(10)
    assert bpf_stats_sysctl() == sysctl_before
    if sysctl_before == 0:
        assert counted(own_xdp) == 0


def test_the_runner_hands_out_what_each_program_cost(root, store_dir: Path, object_file, trigger) -> None:
    """`Runner.bpf_run_stats()`, the accessor of views without Prometheus: {} without the option."""
    program = object_file("fleet_execs")
    settings = RunSettings(programs=(program,), no_tty=True, fmt="json", prom_port=0, prom_host="127.0.0.1",
                           bpf_stats=True)
    with running(settings, store_dir) as runner:
        trigger("fleet-accessor")
        stats = runner.bpf_run_stats()
        assert set(stats) == {"fleet_execs"} and set(stats["fleet_execs"]) == {"count_exec"}
        count = stats["fleet_execs"]["count_exec"]
        assert count.runs >= 1 and count.run_time_ns > 0 and count.prog_id > 0
    with running(settings.replace(bpf_stats=False), store_dir) as runner:
        assert runner.bpf_run_stats() == {}
