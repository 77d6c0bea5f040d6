"""`bee run --bpf-stats`: what each BPF program of a run costs the kernel, as series, in `/healthz` and at exit.

`BpfStats.start(registry, err)` turns the kernel's run-time statistics on for as long as the run lasts
(`bee.libbpf.stats`: a BPF_ENABLE_STATS descriptor, Linux 5.8, closed by `close()` or by the process
ending) and registers two counters, read from the kernel at every scrape, one series per BPF program
(function) of every program attached, labelled `bpf_program` (and `program` when the run labels its
series: several programs, a runner config):

    bee_bpf_runs_total          times the BPF program ran while statistics were on
    bee_bpf_run_seconds_total   seconds it ran in all (the kernel's run_time_ns)

When the kernel cannot count (too old, no CAP_SYS_ADMIN), one warning line says why and `start`
returns None: the run goes on without those series. Without `--bpf-stats` nothing is exported, even
while someone else keeps statistics on: the series then exist exactly when the run asks for them, and
never hold counts of a window bee cannot tell.

`snapshot(programs)` is the accessor the other views use: per program name, per BPF program, the
kernel's (runs, run time); `health` is the `/healthz` addition, `summary` the lines printed at exit.
Not on `bee run`'s start-up path (docs/dev/startup.md): imported only with `--bpf-stats`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from bee.libbpf.errors import LibbpfError, StatsUnavailableError
from bee.libbpf.stats import RunStats, StatsSwitch, enable_run_time_stats
from bee.run.program import ProgramRun
from bee.sinks.families import CounterFamily
from bee.sinks.metrics import MetricsRegistry

if TYPE_CHECKING:
    from bee.run.lineup import Lines

logger = logging.getLogger(__name__)

RUNS = "bee_bpf_runs_total"
RUN_SECONDS = "bee_bpf_run_seconds_total"

#: Per program name, per BPF program (function): what the kernel counted.
Snapshot = dict[str, dict[str, RunStats]]


class BpfStats:
    """The run-time statistics of one run: on from `start` to `close()` (idempotent)."""

    def __init__(self, switch: StatsSwitch, registry: MetricsRegistry) -> None:
        self._switch = switch
        self._labelled = registry.program_label
        extra = ("program",) if registry.program_label else ()
        self.runs = registry.register(CounterFamily(
            RUNS, "Times each BPF program ran, as the kernel counts while bee run --bpf-stats holds its "
            "run-time statistics on.", ("bpf_program",), extra))
        self.run_seconds = registry.register(CounterFamily(
            RUN_SECONDS, "Seconds each BPF program ran in all (the kernel's run_time_ns), while bee run "
            "--bpf-stats holds its run-time statistics on.", ("bpf_program",), extra))

    @classmethod
    def start(cls, registry: MetricsRegistry, err: Lines) -> BpfStats | None:
        """Turn statistics on and register the series; None, after one warning line on `err`, when the
        kernel cannot count or this process may not turn them on."""
        try:
            switch = enable_run_time_stats()
        except StatsUnavailableError as exc:
            err.write(f"bee: warning: --bpf-stats: {exc.message}; the run goes on without bee_bpf_* series\n")
            err.flush()
            return None
        logger.debug("BPF run-time statistics on (%s)", switch.how)
        return cls(switch, registry)

    def close(self) -> None:
        """Let the kernel stop counting (unless someone else keeps statistics on)."""
        self._switch.close()

    def snapshot(self, programs: Iterable[ProgramRun]) -> Snapshot:
        """What the kernel counted so far of every BPF program of `programs`, by program name then
        function; a program the kernel will not tell about (closed meanwhile, a refused call) is left out."""
        taken: Snapshot = {}
        for program in programs:
            try:
                counted = program.run_stats()
            except LibbpfError as exc:
                logger.debug("no run-time statistics for program %s: %s", program.name, exc)
                continue
            if counted:
                taken[program.name] = counted
        return taken

    def publish(self, programs: Iterable[ProgramRun]) -> None:
        """Copy the kernel's counts into the two counters (a scrape's collect hook)."""
        for name, functions in self.snapshot(programs).items():
            suffix = (name,) if self._labelled else ()
            for function, stats in functions.items():
                self.runs.follow((function, *suffix), stats.runs)
                self.run_seconds.follow((function, *suffix), stats.run_time_ns / 1e9)

    def health(self, programs: Iterable[ProgramRun]) -> dict[str, dict[str, object]]:
        """What `/healthz` adds to each program's entry: `{"bpf_stats": {FUNCTION: {"prog_id": ...,
        "runs": ..., "run_time_ns": ..., "ns_per_run": ...}}}` (`ns_per_run` null before the first run)."""
        return {name: {"bpf_stats": {function: health_entry(stats) for function, stats in functions.items()}}
                for name, functions in self.snapshot(programs).items()}


def health_entry(stats: RunStats) -> dict[str, object]:
    """One BPF program's counts as `/healthz` shows them."""
    mean = stats.ns_per_run
    return {"prog_id": stats.prog_id, "runs": stats.runs, "run_time_ns": stats.run_time_ns,
            "ns_per_run": None if mean is None else round(mean, 1)}


def summary(snapshot: Mapping[str, Mapping[str, RunStats]]) -> list[str]:
    """One line per BPF program for the end of a run:
    `bee: bpf stats: handle_exec (run_types): 3 runs, 5.1 us in all, 1702 ns per run`."""
    lines = []
    for name, functions in snapshot.items():
        for function, stats in functions.items():
            mean = stats.ns_per_run
            counted = (f"{stats.runs} run{'s' if stats.runs != 1 else ''}, {duration(stats.run_time_ns)} in all, "
                       f"{mean:.0f} ns per run" if mean is not None else "0 runs")
            lines.append(f"bee: bpf stats: {function} ({name}): {counted}")
    return lines


def duration(ns: int) -> str:
    """`ns` nanoseconds for a person: `812 ns`, `5.1 us`, `23.4 ms`, `12.3 s`."""
    for unit, size in (("s", 10**9), ("ms", 10**6), ("us", 10**3)):
        if ns >= size:
            return f"{ns / size:.1f} {unit}"
    return f"{ns} ns"
