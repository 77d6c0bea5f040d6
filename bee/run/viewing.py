"""The interactive view's side of a run (imported only on a terminal): its model and what it is told.

The model has one group of tables per program, in the order the lineup gives them; a program that
already failed (a pull, a read, a prepare) has its heading and reason and no tables. Once the programs
are attached, the view learns the hooks and which programs failed on the way (outputs, load, attach).
With one program the view looks as it always did: the group's name is not shown. With `--bpf-stats`,
a thread of its own (`feed_run_stats`) reads what each BPF program cost the kernel about once a second
and hands it to the view, which never calls into libbpf itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from bee.run.lineup import Lineup
from bee.run.program import ProgramRun
from bee.sinks.filters import FilterSet
from bee.tui.model import ProgramTables, TuiModel, tables_for_spec

if TYPE_CHECKING:
    from bee.libbpf.stats import RunStats

STATS_INTERVAL = 1.0  # seconds between reads of the kernel's run-time statistics for the view


def view_model(lineup: Lineup, programs: Sequence[ProgramRun], filters: Mapping[str, FilterSet],
               metrics_url: str, bpf_stats: bool = False) -> TuiModel:
    """The view of the programs of `lineup`: `programs` are those prepared (the others failed), `filters`
    each program's `-f` filters by name; `bpf_stats`: the kernel counts their runs (the view shows them)."""
    prepared = {program.name: program for program in programs}
    groups = []
    for name in lineup.names:
        program = prepared.get(name)
        if program is None:
            groups.append(ProgramTables(name, lineup.arguments[name], failure=_reason(lineup, name)))
        else:
            groups.append(ProgramTables(name, program.location, tables_for_spec(program.prepared.spec, filters[name])))
    location = groups[0].location if len(groups) == 1 else ", ".join(lineup.names)
    return TuiModel(location, metrics_url, groups=groups, bpf_stats=bpf_stats)


def feed_run_stats(view: TuiModel, read: Callable[[], Mapping[str, Mapping[str, RunStats]]],
                   stop: threading.Event, interval: float = STATS_INTERVAL) -> threading.Thread:
    """Start the thread (`bee-bpf-stats`) that sets `view.run_stats` to `read()` now and every `interval`
    seconds until `stop` is set; the caller joins it after setting `stop`. `read` is
    `Runner.bpf_run_stats` (any thread); a failure of it ends the feed, never the run."""

    def feed() -> None:
        while True:
            try:
                view.run_stats = read()
            except Exception as exc:  # noqa: BLE001 - the view's figures are not worth a run
                view.notice(f"bee: --bpf-stats: the view stops showing run-time statistics: {exc}")
                return
            if stop.wait(interval):
                return

    thread = threading.Thread(target=feed, name="bee-bpf-stats", daemon=True)
    thread.start()
    return thread


def show_attached(view: TuiModel, lineup: Lineup, going: Sequence[ProgramRun]) -> None:
    """Tell `view` which programs did not start (each with its reason) and what `going` attached, in that
    order (kernel thread)."""
    for name in lineup.names:
        reason = _reason(lineup, name)
        if reason is not None:
            view.program_failed(name, reason)
    view.attached([(hook.function, hook.section, hook.target) for program in going for hook in program.hooks])


def _reason(lineup: Lineup, name: str) -> str | None:
    """Why program `name` did not start, in one line; None unless it failed."""
    error = lineup.failure(name)
    return None if error is None else " ".join(error.message.split())
