"""`LiveSet`: the programs attached in a running run, changed while it runs (a runner config reload).

`remove(names)` takes the programs out of the readers first (`RingLoop.replace`, `HashPoller.replace`:
once they return, nothing reads their maps), then closes them (links → ring buffers → objects) and
forgets their series, event-log drops and `/healthz` entries. `add(programs)` starts new ones through
the same steps as the run's start (`bee.run.starting`, with the lineup `tolerant`: a program that fails
is one warning line and a failed entry in `/healthz`), then hands their maps to the readers. The
programs kept are not touched: their counters go on. Not thread-safe: one reload at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from bee.errors import BeeError
from bee.run.lineup import Lineup
from bee.run.outputs.factory import Sinks
from bee.run.program import ProgramRun
from bee.run.readers import HashPoller, RingLoop
from bee.run.settings import ProgramOptions
from bee.run.starting import attach_all, make_all_outputs, parse_filters, prepare_all


class LiveSet:
    """The attached programs of a run with the readers over them; `programs` is replaced whole on a change."""

    def __init__(self, programs: list[ProgramRun], lineup: Lineup, sinks: Sinks, loop: RingLoop,
                 poller: HashPoller, store_root: Path, on_attached: Callable[[list[ProgramRun]], None]) -> None:
        """`sinks`: the run's (no program set; each program gets its own from them); `on_attached` is told
        of the programs an `add` attached."""
        self.programs = programs
        self.lineup, self.sinks, self.loop, self.poller = lineup, sinks, loop, poller
        self.store_root, self._on_attached = store_root, on_attached

    def remove(self, names: Sequence[str]) -> None:
        """Detach and forget the programs `names` (attached or failed); unknown names are ignored."""
        gone = [p for p in self.programs if p.name in names]
        self._read(p for p in self.programs if p.name not in names)
        for program in gone:
            program.close()
        registry, event_log = self.sinks.registry, self.sinks.event_log
        for name in names:
            if name in self.lineup.options:
                self.lineup.remove(name)
            if event_log is not None:
                event_log.forget(name)  # first: a scrape copies the drops into the series forgotten next
            registry.forget_program(name)

    def add(self, programs: Sequence[ProgramOptions],
            pull: Callable[[ProgramOptions], None] | None = None) -> list[ProgramRun]:
        """Pull (with `pull`, per each one's policy), start and read `programs` (names not in the run);
        returns those attached. A program that fails any step is closed and recorded as failed (the lineup
        must be `tolerant`)."""
        lineup = self.lineup
        names = [p.name for p in programs]
        for options in programs:
            lineup.add(options)
            try:
                if pull is not None:
                    pull(options)
            except BeeError as exc:
                lineup.fail(options.name, exc)
        started = prepare_all(lineup, self.store_root, names)
        try:
            for program in started:
                program.start_loading(read_in_place=True)
            started = make_all_outputs(lineup, started, self.sinks, parse_filters(lineup, names))
            started = attach_all(lineup, started)
        except BeeError as exc:  # a filter that names no field of its program: all of this add fails
            for program in started:
                program.close()
                lineup.fail(program.name, exc)
            return []
        self._read([*self.programs, *started])
        self._on_attached(started)
        return started

    def close_all(self) -> None:
        """Detach and free every program of the set (at the end of the run)."""
        for program in self.programs:
            program.close()

    def _read(self, programs: Iterable[ProgramRun]) -> None:
        """Make `programs` the set, read by the readers (the rings by the loop, the hash maps by the poller)."""
        self.programs = going = list(programs)
        self.loop.replace([p.ring for p in going if p.ring is not None])
        self.poller.replace([m for p in going for m in p.hash_maps])
