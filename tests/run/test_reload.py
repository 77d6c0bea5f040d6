"""Reloading a runner config while it runs, through the real CLI, the real kernel and real scrapes: a
ConfigMap-style symbolic-link swap and SIGHUP; programs added, removed and kept (their counters go on, their
BPF programs stay the same ones); bad configs refused with the old set still running; nothing left in the
kernel of a removed program, nor of any program once the run ends."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.run.conftest import BeeRun, bpf_link_ids, free_port
from tests.run.test_run_config_file import start_config  # noqa: F401  (fixture)
from tests.run.test_several import healthz, scrape_until

HEAD = """\
metrics: {{address: 127.0.0.1, port: {port}}}
poll_interval: 0.1
format: json
programs:
"""
TYPES = """\
  - program: {types}
    name: types
    hist_buckets: {{hist_latency: [10, 100]}}
"""
QUIET = """\
  - program: {types}
    name: quiet
    hist_buckets: {{hist_latency: [10, 100]}}
"""
TRICKY = """\
  - program: {tricky}
    name: tricky
"""


class ConfigMapDir:
    """A directory laid out like a Kubernetes ConfigMap volume: `runner.yaml` → `..data/runner.yaml`, `..data` →
    a timestamped directory; `update()` writes a new directory and swaps `..data` atomically."""

    def __init__(self, root: Path, fill: Callable[[str], str]) -> None:
        self.root, self.fill, self.version = root, fill, 0
        root.mkdir()
        (root / "runner.yaml").symlink_to("..data/runner.yaml")

    @property
    def path(self) -> Path:
        return self.root / "runner.yaml"

    def update(self, *entries: str, head: str = HEAD) -> None:
        self.version += 1
        version = self.root / f"..2026_12_04_v{self.version}"
        version.mkdir()
        (version / "runner.yaml").write_text(self.fill(head + "".join(entries)))
        temporary = self.root / "..data_tmp"
        temporary.symlink_to(version.name)
        os.rename(temporary, self.root / "..data")  # what the kubelet does: one atomic rename


def owned_programs(run: BeeRun) -> dict[int, set[str]]:
    """The BPF programs the run's process holds, by id, each with the names of the maps it uses."""
    ids = set()
    fd_dir = Path(f"/proc/{run.proc.pid}/fdinfo")
    for info in fd_dir.iterdir():
        try:
            text = info.read_text()
        except OSError:
            continue  # closed meanwhile
        if "prog_type:" in text and (found := re.search(r"^prog_id:\s+(\d+)", text, re.M)):
            ids.add(int(found.group(1)))
    programs = {}
    for prog_id in ids:
        shown = json.loads(subprocess.run(["bpftool", "-j", "prog", "show", "id", str(prog_id)],
                                          capture_output=True, text=True, check=True).stdout)
        names = set()
        for map_id in shown.get("map_ids", []):
            out = subprocess.run(["bpftool", "-j", "map", "show", "id", str(map_id)], capture_output=True, text=True)
            if out.returncode == 0:
                names.add(json.loads(out.stdout)["name"])
        programs[prog_id] = names
    return programs


def program_ids(run: BeeRun, map_name: str) -> set[int]:
    """Ids of the run's programs that use a map called `map_name`."""
    return {prog_id for prog_id, maps in owned_programs(run).items() if map_name in maps}


def reload_lines(run: BeeRun) -> list[str]:
    return [line for line in run.stderr_lines if line.startswith("bee: reload")]


@pytest.fixture
def configmap(tmp_path: Path, object_file) -> tuple[ConfigMapDir, int]:
    port = free_port()
    fill = lambda text: text.format(types=object_file("run_types"), tricky=object_file("run_tricky"),  # noqa: E731
                                    port=port)
    return ConfigMapDir(tmp_path / "config", fill), port


def counter_line(program: str, value: int) -> str:
    return f'ebpf_solo_io_counter_ring{{color="GREEN",comm="beetrigger",program="{program}"}} {value}'


def test_a_symlink_swap_adds_and_removes_programs_and_keeps_the_others(start_config, configmap,  # noqa: F811
                                                                         trigger) -> None:
    config, port = configmap
    config.update(TYPES, TRICKY)
    links_before = bpf_link_ids()
    run = start_config(config.path, port)
    run.wait_for(lambda: len([ln for ln in run.stderr_lines if ln.startswith("bee: attached")]) == 2,
                 what="two attached lines")
    types_ids, tricky_ids = program_ids(run, "print_events"), program_ids(run, "print_tricky")
    assert len(types_ids) == 1 and len(tricky_ids) == 1
    trigger("beetrigger")
    trigger("beetricky")
    scrape_until(run, lambda text: counter_line("types", 1) in text and 'program="tricky"' in text, "the first exec")

    config.update(TYPES, QUIET)
    run.wait_for(lambda: reload_lines(run), what="the reload line")
    assert reload_lines(run) == ["bee: reload: +1 -1 (1 unchanged): added quiet; removed tricky"]
    run.wait_for(lambda: len([ln for ln in run.stderr_lines if ln.startswith("bee: attached")]) == 3,
                 what="quiet's attached line")
    owned = owned_programs(run)
    # the kept program is the same BPF program (never reloaded); tricky's is gone from the process
    assert program_ids(run, "print_events") >= types_ids and len(program_ids(run, "print_events")) == 2
    assert not any("print_tricky" in maps for maps in owned.values())

    trigger("beetrigger")
    lines = scrape_until(run, lambda text: counter_line("types", 2) in text and counter_line("quiet", 1) in text,
                         "the second exec")
    assert not [line for line in lines if 'program="tricky"' in line]
    assert not [line for line in lines if line.startswith("ebpf_solo_io_gauge_tricky")
                or line.startswith("# HELP ebpf_solo_io_gauge_tricky")]
    assert {line for line in lines if line.startswith("bee_program_up")} == {
        'bee_program_up{program="quiet"} 1', 'bee_program_up{program="types"} 1'}
    status, _, body = healthz(run)
    assert status == 200 and set(json.loads(body)["programs"]) == {"types", "quiet"}
    # the events of the run's print_ maps name their program; quiet's start after its attach
    run.wait_for(lambda: [e["program"] for e in run.events("print_events")
                          if e["event"]["comm"] == "beetrigger"].count("quiet") == 1, what="quiet's event")
    assert [e["program"] for e in run.events("print_events")
            if e["event"]["comm"] == "beetrigger"].count("types") == 2
    run.stop()
    assert bpf_link_ids() <= links_before


def test_sighup_reloads_and_a_bad_config_keeps_the_old_set(start_config, configmap, trigger,  # noqa: F811
                                                           tmp_path: Path) -> None:
    config, port = configmap
    config.update(TYPES)
    run = start_config(config.path, port)
    run.proc.send_signal(signal.SIGHUP)
    run.wait_for(lambda: reload_lines(run), what="the reload line")
    assert reload_lines(run) == ["bee: reload: +0 -0 (1 unchanged): nothing to do"]

    target = config.path.resolve()
    target.write_text(target.read_text() + "  - program: [\n")  # edited in place: no longer YAML
    run.proc.send_signal(signal.SIGHUP)
    run.wait_for(lambda: len(reload_lines(run)) >= 2, what="the refusal")
    refusal = reload_lines(run)[1]
    assert refusal.startswith(f"bee: reload refused: {config.path}, line ")
    assert refusal.endswith("; the programs running keep running (types)")
    trigger("beetrigger")
    scrape_until(run, lambda text: counter_line("types", 1) in text, "an exec after the refusal")

    config.update(TYPES, head=HEAD.replace("{port}", str(port + 1)))  # noticed by the watcher alone
    run.wait_for(lambda: any("metrics.port changed" in line for line in reload_lines(run)), what="the refusal")
    assert reload_lines(run)[-1] == (
        f"bee: reload refused: {config.path}: metrics.port changed from {port} to {port + 1}, which a reload "
        "cannot apply: restart the runner for it (the programs keep running as before); "
        "the programs running keep running (types)")
    assert healthz(run)[0] == 200
    run.stop()


def test_an_added_program_that_fails_leaves_the_others_running(start_config, configmap, trigger,  # noqa: F811
                                                               tmp_path: Path) -> None:
    config, port = configmap
    config.update(TYPES)
    run = start_config(config.path, port)
    missing = tmp_path / "missing.o"
    config.update(TYPES, f"  - program: {missing}\n")
    run.wait_for(lambda: reload_lines(run), what="the reload line")
    assert reload_lines(run) == ["bee: reload: +1 -0 (1 unchanged): added missing"]
    warning = next(line for line in run.stderr_lines if "did not start" in line)
    assert warning.startswith(f"bee: warning: program missing ({missing}) did not start: ")
    status, _, body = healthz(run)
    assert status == 503
    assert json.loads(body)["programs"]["missing"]["state"] == "failed"
    assert 'bee_program_up{program="missing"} 0' in run.scrape()
    trigger("beetrigger")
    scrape_until(run, lambda text: counter_line("types", 1) in text, "an exec with the failed program listed")

    config.update(TYPES)  # removing the failed program makes the run healthy again
    run.wait_for(lambda: len(reload_lines(run)) == 2, what="the second reload")
    assert reload_lines(run)[1] == "bee: reload: +0 -1 (1 unchanged): removed missing"
    assert healthz(run)[0] == 200 and 'program="missing"' not in run.scrape()
    run.stop()


def test_sighup_ends_a_run_without_a_config(bee_run, object_file) -> None:
    run = bee_run(object_file("run_types"))
    assert run.stop(signal.SIGHUP) >= 0  # exits 0, having detached everything
    assert not [line for line in run.stderr_lines if line.startswith("bee: reload")]


def test_one_ring_reader_becomes_two_and_back(start_config, configmap, trigger) -> None:  # noqa: F811
    """One program's ring buffer is polled directly, two through an epoll: the loop switches both ways."""
    config, port = configmap
    config.update(TYPES)
    run = start_config(config.path, port)
    config.update(TYPES, QUIET)
    run.wait_for(lambda: len([ln for ln in run.stderr_lines if ln.startswith("bee: attached")]) == 2,
                 what="quiet's attached line")
    trigger("beetrigger")
    scrape_until(run, lambda text: counter_line("types", 1) in text and counter_line("quiet", 1) in text,
                 "both programs' count")
    config.update(QUIET)
    run.wait_for(lambda: len(reload_lines(run)) == 2, what="the second reload")
    assert reload_lines(run)[1] == "bee: reload: +0 -1 (1 unchanged): removed types"
    trigger("beetrigger")
    lines = scrape_until(run, lambda text: counter_line("quiet", 2) in text, "quiet's second count")
    assert not [line for line in lines if 'program="types"' in line]
    run.stop()
