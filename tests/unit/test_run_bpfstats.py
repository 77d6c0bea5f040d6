"""`bee.run.bpfstats` without the kernel: the series a scrape copies from the kernel's counts (one program,
several, one the kernel will not tell about), the `/healthz` addition, the lines said at exit."""

from __future__ import annotations

import io
import json
from typing import Any

from bee.libbpf.errors import LibbpfError
from bee.libbpf.stats import ALREADY_ON, RunStats, StatsSwitch
from bee.run.bpfstats import BpfStats, duration, health_entry, summary
from bee.run.lineup import Lineup
from bee.run.settings import ProgramOptions
from bee.sinks.metrics import MetricsRegistry


class Counted:
    """Stands for a `ProgramRun`: its name and what the kernel counted of its BPF programs."""

    def __init__(self, name: str, counts: dict[str, RunStats] | LibbpfError) -> None:
        self.name, self.counts = name, counts

    def run_stats(self) -> dict[str, RunStats]:
        if isinstance(self.counts, LibbpfError):
            raise self.counts
        return self.counts


def stats_of(registry: MetricsRegistry) -> BpfStats:
    return BpfStats(StatsSwitch(ALREADY_ON), registry)


def bpf_lines(registry: MetricsRegistry) -> list[str]:
    return [line for line in registry.exposition().decode().splitlines() if line.startswith("bee_bpf_")]


def test_one_program_has_one_series_per_bpf_program_and_family() -> None:
    registry = MetricsRegistry()
    stats = stats_of(registry)
    program: Any = Counted("opensnoop", {"enter": RunStats(11, 4, 2_000), "exit": RunStats(12, 0, 0)})
    assert bpf_lines(registry) == []  # nothing before the first scrape
    stats.publish([program])
    assert bpf_lines(registry) == [
        'bee_bpf_run_seconds_total{bpf_program="enter"} 2e-06',
        'bee_bpf_run_seconds_total{bpf_program="exit"} 0',
        'bee_bpf_runs_total{bpf_program="enter"} 4',
        'bee_bpf_runs_total{bpf_program="exit"} 0',
    ]
    program.counts = {"enter": RunStats(11, 10, 1_500_000_000), "exit": RunStats(12, 1, 300)}
    stats.publish([program])
    assert bpf_lines(registry) == [
        'bee_bpf_run_seconds_total{bpf_program="enter"} 1.5',
        'bee_bpf_run_seconds_total{bpf_program="exit"} 3e-07',
        'bee_bpf_runs_total{bpf_program="enter"} 10',
        'bee_bpf_runs_total{bpf_program="exit"} 1',
    ]
    text = registry.exposition().decode()
    assert "# TYPE bee_bpf_runs_total counter" in text and "# TYPE bee_bpf_run_seconds_total counter" in text


def test_several_programs_label_their_series_and_a_program_forgotten_takes_them_along() -> None:
    registry = MetricsRegistry(program_label=True)
    stats = stats_of(registry)
    a: Any = Counted("a", {"handle": RunStats(1, 2, 200)})
    b: Any = Counted("b", {"handle": RunStats(2, 3, 900)})
    gone: Any = Counted("c", LibbpfError("cannot read", errno=9))
    stats.publish([a, b, gone])
    assert bpf_lines(registry) == [
        'bee_bpf_run_seconds_total{bpf_program="handle",program="a"} 2e-07',
        'bee_bpf_run_seconds_total{bpf_program="handle",program="b"} 9e-07',
        'bee_bpf_runs_total{bpf_program="handle",program="a"} 2',
        'bee_bpf_runs_total{bpf_program="handle",program="b"} 3',
    ]
    registry.forget_program("a")
    assert [line for line in bpf_lines(registry) if 'program="a"' in line] == []
    assert stats.snapshot([a, b, gone]) == {"a": {"handle": RunStats(1, 2, 200)}, "b": {"handle": RunStats(2, 3, 900)}}


def test_healthz_gets_each_bpf_program_with_its_mean() -> None:
    stats = stats_of(MetricsRegistry())
    program: Any = Counted("p", {"enter": RunStats(11, 3, 1000), "idle": RunStats(12, 0, 0)})
    assert stats.health([program]) == {"p": {"bpf_stats": {
        "enter": {"prog_id": 11, "runs": 3, "run_time_ns": 1000, "ns_per_run": 333.3},
        "idle": {"prog_id": 12, "runs": 0, "run_time_ns": 0, "ns_per_run": None}}}}
    assert health_entry(RunStats(1, 4, 10)) == {"prog_id": 1, "runs": 4, "run_time_ns": 10, "ns_per_run": 2.5}


def test_the_lineup_adds_what_its_reporter_gives_to_each_entry() -> None:
    registry = MetricsRegistry()
    lineup = Lineup([ProgramOptions(program="p.o", name="p")], registry, io.StringIO())
    assert json.loads(lineup.health(True)[2]) == {"programs": {"p": {"state": "starting", "error": None}}}
    lineup.reporter = lambda: {"p": {"bpf_stats": {"f": {"runs": 1}}}, "q": {"ignored": True}}
    lineup.attached("p")
    status, ctype, body = lineup.health(True)
    assert (status, ctype) == (200, "application/json")
    assert json.loads(body) == {"programs": {"p": {"state": "attached", "error": None,
                                                   "bpf_stats": {"f": {"runs": 1}}}}}


def test_the_exit_lines_say_runs_time_and_mean() -> None:
    assert summary({"types": {"on_exec": RunStats(5, 3, 5106), "once": RunStats(6, 1, 812)},
                    "quiet": {"idle": RunStats(7, 0, 0)}}) == [
        "bee: bpf stats: on_exec (types): 3 runs, 5.1 us in all, 1702 ns per run",
        "bee: bpf stats: once (types): 1 run, 812 ns in all, 812 ns per run",
        "bee: bpf stats: idle (quiet): 0 runs",
    ]
    assert summary({}) == []


def test_durations_read_like_a_person_would_say_them() -> None:
    assert [duration(ns) for ns in (0, 999, 1000, 23_400_000, 12_345_000_000)] == [
        "0 ns", "999 ns", "1.0 us", "23.4 ms", "12.3 s"]
