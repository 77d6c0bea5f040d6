"""Starting the programs of a run, each step applied to every program with the run's failure policy
(`bee.run.lineup.Lineup.fail`): a program that fails a step is closed and left out of the next ones.

`prepare_all` (read, prepare, privileges; no kernel) → `make_all_outputs` (while the loads run) →
`attach_all` (wait for each load, attach). Each program has its own options (`bee.run.settings.ProgramOptions`:
filters, histogram buckets and value keys, interface, pins). Each returns the programs still going; the run fails with
the first error when none is left. Also the collect hooks that copy counts kept elsewhere into the
registry, per program.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bee.errors import BeeError
from bee.run.lineup import Lineup
from bee.run.load import check_pin_dir, check_privileges
from bee.run.prepare import map_notices, prepare, untracked_notices, with_params
from bee.run.program import Pins, ProgramRun
from bee.sha256 import sha256_hex

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from bee.run.outputs.factory import Sinks
    from bee.run.settings import ProgramOptions
    from bee.sinks.eventlog import EventLog
    from bee.sinks.filters import FilterSet
    from bee.sinks.metrics import MetricsRegistry


def _going(lineup: Lineup, programs: list[ProgramRun]) -> list[ProgramRun]:
    """The programs that did not fail; the first error when none is left."""
    going = [p for p in programs if not lineup.failed(p.name)]
    error = lineup.first_error()
    if not going and error is not None:
        raise error
    return going


def parse_filters(lineup: Lineup, names: Sequence[str] | None = None) -> dict[str, FilterSet]:
    """The filters of every program (or of those `names`), parsed (UsageError on the first bad one)."""
    from bee.sinks.filters import FilterSet

    wanted = lineup.names if names is None else names
    return {name: FilterSet.parse(lineup.options[name].filters) for name in wanted}


def prepare_all(lineup: Lineup, store_root: Path, names: Sequence[str] | None = None) -> list[ProgramRun]:
    """Read and prepare every program (or those `names`) not failed yet, record its digest, apply its
    parameters, say in a notice each map it names for an output bee cannot make, each map whose name is a typo
    of an output prefix and a program that exports nothing, and check the privileges it needs."""
    programs = []
    for name in names if names is not None else lineup.names:
        if lineup.failed(name):
            continue
        try:
            options = lineup.options[name]
            prepared = prepare(lineup.arguments[name], store_root, options.iface, lineup.trust, options.outputs)
            lineup.describe(name, "sha256:" + sha256_hex(prepared.source.data), prepared.source.location)
            prepared = with_params(prepared, options.params, name)
            for notice in map_notices(prepared.spec) + untracked_notices(prepared.spec.maps, prepared.source.location):
                lineup.notice(name, notice)
            check_privileges(prepared.spec, network=prepared.needs_network)
            for directory, flag in ((options.pin_maps, "--pin-maps"), (options.pin_progs, "--pin-progs")):
                if directory is not None:
                    check_pin_dir(directory, flag)
        except BeeError as exc:
            lineup.fail(name, exc)
            continue
        programs.append(ProgramRun(prepared, Pins(options.pin_maps, options.pin_progs), name))
    return _going(lineup, programs)


def make_all_outputs(lineup: Lineup, programs: list[ProgramRun], sinks: Sinks,
                     filters: dict[str, FilterSet]) -> list[ProgramRun]:
    """Make every program's outputs with its own filters, histogram buckets and value keys (with several
    programs, each under its name), then check the filters of the programs still going: programs given the
    same filters (all of them on the command line) against the maps of all of them, others each against its own."""
    fields: dict[tuple[str, ...], dict[str, tuple[str, ...]]] = {}
    histograms: dict[tuple[str, ...], set[str]] = {}
    for program in programs:
        options = lineup.options[program.name]
        own = sinks.replace(program=program.name if lineup.labelled else None, filters=filters[program.name],
                            hist_buckets=options.hist_buckets, hist_value_keys=options.hist_value_keys)
        try:
            made = program.make_outputs(own)
        except BeeError as exc:
            program.close()
            lineup.fail(program.name, exc)
            continue
        fields.setdefault(options.filters, {}).update(made.fields())
        histograms.setdefault(_hist_names(options), set()).update(made.histograms())
    going = _going(lineup, programs)
    for program in going:
        filters[program.name].validate(fields[lineup.options[program.name].filters])
        options = lineup.options[program.name]
        _check_hist_names(options, histograms[_hist_names(options)])
    return going


def _hist_names(options: ProgramOptions) -> tuple[str, ...]:
    return (*options.hist_buckets, "", *options.hist_value_keys)


def _check_hist_names(options: ProgramOptions, histograms: set[str]) -> None:
    """Every map -b/--hist-buckets or -k/--hist-value-key names must be a histogram of the programs given
    them (like -f, checked against all programs given the same options). Raises UsageError."""
    from bee.errors import UsageError

    for flag, names in (("-b/--hist-buckets", options.hist_buckets), ("-k/--hist-value-key", options.hist_value_keys)):
        for name in names:
            if name not in histograms:
                known = ", ".join(sorted(histograms)) or "none"
                raise UsageError(f"{flag} names map {name!r}, which this program does not output as a "
                                 f"histogram (hist_ maps: {known}); check the map name with `bee describe`")


def attach_all(lineup: Lineup, programs: list[ProgramRun]) -> list[ProgramRun]:
    """Attach every program (its load ended first); one that fails is closed at once."""
    for program in programs:
        try:
            program.attach()
        except BeeError as exc:
            program.close()
            lineup.fail(program.name, exc)
            continue
        lineup.attached(program.name)
    return _going(lineup, programs)


def publish_lost(registry: MetricsRegistry, event_log: EventLog) -> None:
    """Copy the event log's drops into `bee_events_lost_total`."""
    for channel, lost in event_log.lost_by_map().items():
        map_name, program = event_log.source_of(channel)
        registry.events_lost.follow((map_name,) if program is None else (map_name, program), lost)


def publish_full(programs: list[ProgramRun]) -> None:
    """Copy the ring buffers' full counts into `bee_ringbuf_full_total`."""
    for program in programs:
        if program.ring is not None and program.metrics is not None:
            for name, count in program.ring.full_counts().items():
                program.metrics.ringbuf_full.follow((name,), count)
