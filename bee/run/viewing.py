"""The interactive view's side of a run (imported only on a terminal): its model and what it is told.

The model has one group of tables per program, in the order the lineup gives them; a program that
already failed (a pull, a read, a prepare) has its heading and reason and no tables. Once the programs
are attached, the view learns the hooks and which programs failed on the way (outputs, load, attach).
With one program the view looks as it always did: the group's name is not shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bee.run.lineup import Lineup
from bee.run.program import ProgramRun
from bee.sinks.filters import FilterSet
from bee.tui.model import ProgramTables, TuiModel, tables_for_spec


def view_model(lineup: Lineup, programs: Sequence[ProgramRun], filters: Mapping[str, FilterSet],
               metrics_url: str) -> TuiModel:
    """The view of the programs of `lineup`: `programs` are those prepared (the others failed), `filters`
    each program's `-f` filters by name."""
    prepared = {program.name: program for program in programs}
    groups = []
    for name in lineup.names:
        program = prepared.get(name)
        if program is None:
            groups.append(ProgramTables(name, lineup.arguments[name], failure=_reason(lineup, name)))
        else:
            groups.append(ProgramTables(name, program.location, tables_for_spec(program.prepared.spec, filters[name])))
    location = groups[0].location if len(groups) == 1 else ", ".join(lineup.names)
    return TuiModel(location, metrics_url, groups=groups)


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
