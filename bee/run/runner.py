"""`Runner`: one `bee run`, composed of the stages of this package (see docs/dev/architecture.md).

Order of work (libbpf-bootstrap's sequence): name the programs → prepare each (read, parse, check,
fix up; no kernel) and check privileges → bind the metrics port → start each load on its own thread
while this thread makes the outputs → attach → start the readers → serve. Each step goes on with the
programs that did not fail it (`bee.run.starting`, `bee.run.lineup`). On SIGINT/SIGTERM, `stop()`, or
any failure: stop the readers → destroy links → free ring buffers → close the objects (after their
loads ended) → stop the server, so nothing stays attached in the kernel. With `--bpf-stats`, the
kernel's run-time statistics are on from before the loads to the end (`bee.run.bpfstats`), and a run
that ends normally says what each BPF program cost, last.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from bee.errors import BeeError
from bee.run.endpoint import start_metrics_server
from bee.run.lineup import Lineup
from bee.run.liveset import LiveSet
from bee.run.program import ProgramRun
from bee.run.readers import HashPoller, RingLoop
from bee.run.settings import ProgramOptions, RunSettings
from bee.run.signals import stop_on_signals
from bee.run.starting import attach_all, make_all_outputs, parse_filters, prepare_all, publish_full, publish_lost
from bee.sinks.metrics import MetricsRegistry

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import IO

    from bee.libbpf.stats import RunStats
    from bee.run.bpfstats import BpfStats
    from bee.run.lineup import Lines
    from bee.run.outputs.factory import Sinks
    from bee.run.reloading import Reloader
    from bee.sinks.eventlog import EventLog
    from bee.sinks.http import MetricsServer
    from bee.tui.notices import Notices


class Runner:
    """One `bee run`. Use `run()`; `stop()` may be called from any thread or a signal handler."""

    def __init__(self, settings: RunSettings, store_root: Path, *, out: IO[bytes] | None = None,
                 err: IO[str] | None = None, on_ready: Callable[[], None] | None = None,
                 failures: Mapping[str, BeeError] | None = None,
                 pull: Callable[[ProgramOptions], None] | None = None) -> None:
        """`on_ready` is called once every program is attached and the readers run (from the thread
        that runs the kernel work), after the "attached" lines. `failures`: the programs (by name) that
        already failed (a pull), each with its error. `pull(options)`: fetches a program a reload adds."""
        self.settings, self.store_root, self._on_ready, self._pull = settings, store_root, on_ready, pull
        self.out = out if out is not None else sys.stdout.buffer
        self.err = err if err is not None else sys.stderr
        self._failures = dict(failures or {})
        self._stop = threading.Event()
        self._loop: RingLoop | None = None  # while the ring loop runs
        self.server: MetricsServer | None = None
        self.registry: MetricsRegistry | None = None
        self.lineup: Lineup | None = None
        self.live: LiveSet | None = None  # the programs attached, once they are
        self._sinks: Sinks | None = None
        self._bpf_stats: BpfStats | None = None  # with --bpf-stats, once turned on
        self._final_stats: dict[str, dict[str, RunStats]] = {}  # what they were when the readers stopped

    def stop(self) -> None:
        """Ask the run to end; it detaches everything and returns from `run()` within a second."""
        self._stop.set()
        loop = self._loop
        if loop is not None:
            loop.wake()  # the loop's wait ends now, not at its next timeout

    def run(self) -> None:
        """Run until `stop()` or a signal. Raises BeeError subclasses for every expected failure.

        On a terminal (stdout and stdin TTYs, no `--no-tty`, no `out` given) the interactive view owns
        the main thread and the kernel work runs in a worker thread; otherwise events are logged. Under
        the view, the lines the run writes for the user (a program that did not start) are shown in it,
        then written to `err` once it has closed. With `--bpf-stats`, a run that ends so says last what
        each BPF program cost the kernel."""
        if not self._interactive():
            self._run(None)
        else:
            from bee.tui.notices import Notices

            notices = Notices()
            try:
                self._run(notices)
            finally:
                notices.replay(self.err)
        self._say_bpf_stats()

    def _run(self, notices: Notices | None) -> None:
        """`run()` but its last lines: under the view when `notices` (where the run's lines go meanwhile) is given."""
        settings = self.settings
        err = notices if notices is not None else self.err
        registry = self.registry = MetricsRegistry(program_label=settings.labelled)
        lineup = self.lineup = Lineup(settings.program_options(), registry, err, fail_fast=settings.fail_fast,
                                      labelled=settings.labelled, trust=settings.trust)
        for name in lineup.names:
            if name in self._failures:
                lineup.fail(name, self._failures[name])
        web = None
        if settings.web_config is not None:  # its errors before any program is read or loaded
            from bee.sinks.webconfig import load_web_config

            web = load_web_config(settings.web_config)
        programs = prepare_all(lineup, self.store_root)
        with contextlib.ExitStack() as stack:
            from bee.run.outputs.factory import Sinks

            filters = parse_filters(lineup)
            server = self.server = start_metrics_server(registry, settings.prom_host, settings.prom_port, web)
            stack.callback(server.stop)
            if settings.bpf_stats:
                self._start_bpf_stats(stack, err)
            server.health = lineup.health if lineup.labelled or self._bpf_stats is not None else None
            for program in programs:
                stack.callback(program.close)  # after a failure: wait for the load, close the object
                program.start_loading(read_in_place=notices is None)
            # From here on, Python work (imports included) overlaps the loads.
            first = filters[programs[0].name]
            if notices is None:
                from bee.sinks.eventlog import EventLog

                event_log = EventLog(self.out, fmt=settings.fmt, on_stop=self.stop)  # type: ignore[arg-type]
                stack.callback(self._check_output, event_log)  # last: after everything is detached
                stack.callback(event_log.close)
                registry.on_collect(lambda: publish_lost(registry, event_log))
                sinks = self._sinks = Sinks(registry, event_log, first)
                programs = make_all_outputs(lineup, programs, sinks, filters)
                self._run_kernel(programs, self._announce)
                return
            from bee.run.viewing import show_attached, view_model
            from bee.tui.session import run_session

            view = view_model(lineup, programs, filters, server.url + "/metrics",
                              bpf_stats=self._bpf_stats is not None)
            notices.show_in(view)
            sinks = self._sinks = Sinks(registry, None, first, view)
            programs = make_all_outputs(lineup, programs, sinks, filters)
            run_session(view, lambda: self._run_kernel(programs, lambda going: show_attached(view, lineup, going)),
                        self._stop)

    def _check_output(self, event_log: EventLog) -> None:
        """After a run whose event log stopped writing: a reader that went away (`bee run | head`) ended
        it cleanly; another write error (a full disk) ends it with that error, said once. Either way
        standard output is pointed at /dev/null so that exiting does not try the failed write again."""
        if not event_log.broken and event_log.error is None:
            return
        if self.out is sys.stdout.buffer:
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
                os.close(devnull)
        error = event_log.error
        if error is not None and sys.exc_info()[0] is None:
            from bee.run.errors import RunError

            reason = (error.strerror if isinstance(error, OSError) else None) or str(error) or type(error).__name__
            raise RunError(f"cannot write events to standard output: {reason}; the run ended "
                           f"({event_log.lost} event{'s' if event_log.lost != 1 else ''} not written)")

    def bpf_run_stats(self) -> dict[str, dict[str, RunStats]]:
        """What each BPF program attached cost the kernel so far, by program name then function (runs and
        nanoseconds: `RunStats`); {} without `--bpf-stats`, or when the kernel could not count. Any thread."""
        stats, live = self._bpf_stats, self.live
        if stats is None or live is None:
            return {}
        return stats.snapshot(live.programs)

    def _start_bpf_stats(self, stack: contextlib.ExitStack, err: Lines) -> None:
        """Turn the kernel's run-time statistics on for the run (a warning line on `err` when it cannot) and
        add what each program cost to `/healthz`."""
        from bee.run.bpfstats import BpfStats  # only with --bpf-stats (docs/dev/startup.md)

        assert self.registry is not None and self.lineup is not None
        stats = self._bpf_stats = BpfStats.start(self.registry, err)
        if stats is None:
            return
        stack.callback(stats.close)
        self.lineup.reporter = lambda: stats.health(self.live.programs if self.live is not None else ())

    def _say_bpf_stats(self) -> None:
        """One line per BPF program on stderr: what it cost the kernel while the run lasted."""
        if self._bpf_stats is None:
            return
        from bee.run.bpfstats import summary

        for line in summary(self._final_stats):
            self.err.write(line + "\n")
        self.err.flush()

    def _interactive(self) -> bool:
        """True when the run shows the interactive view rather than the event log."""
        if self.settings.no_tty or self.out is not sys.stdout.buffer:
            return False
        try:
            return sys.stdout.isatty() and sys.stdin.isatty()
        except (AttributeError, ValueError):
            return False

    def _run_kernel(self, programs: list[ProgramRun], on_ready: Callable[[list[ProgramRun]], None]) -> None:
        """Attach every program, then read until stopped; closes links → ring buffers → objects on the way
        out. Runs on the main thread (event log) or the view's worker thread; SIGINT/SIGTERM/SIGHUP are
        handled here only on the main thread. With a runner config and no view, its changes are applied
        as they come (`bee.run.reloading`)."""
        assert self.registry is not None and self.server is not None and self.lineup is not None
        assert self._sinks is not None
        registry, lineup = self.registry, self.lineup
        with contextlib.ExitStack() as stack:
            for program in programs:
                stack.callback(program.close)
            try:
                programs = attach_all(lineup, programs)
            except BaseException:  # the run fails at its start: the programs attached first leave no pins
                for program in programs:
                    program.unpin()
                raise
            lineup.tolerant = True  # from here on a program that fails leaves the others running
            loop = self._loop = RingLoop([p.ring for p in programs if p.ring is not None], self._stop, registry)
            poller = HashPoller([m for p in programs for m in p.hash_maps], self.settings.poll_interval,
                                self._stop, registry)
            live = self.live = LiveSet(programs, lineup, self._sinks, loop, poller, self.store_root, self._announce)
            stack.callback(live.close_all)  # the programs a reload added too
            registry.on_collect(lambda: publish_full(live.programs))
            stats = self._bpf_stats
            if stats is not None:
                registry.on_collect(lambda: stats.publish(live.programs))
                stack.callback(lambda: setattr(self, "_final_stats", stats.snapshot(live.programs)))  # before closes
            stack.callback(setattr, self, "_loop", None)
            reloader = self._reloader(live)
            with stop_on_signals(self.stop, reloader.request if reloader is not None else None):
                poller.start()
                stack.callback(poller.join)
                view = self._sinks.view
                if stats is not None and view is not None:  # joined once the stop below is set
                    from bee.run.viewing import feed_run_stats

                    stack.callback(feed_run_stats(view, self.bpf_run_stats, self._stop).join)
                if reloader is not None:
                    stack.callback(reloader.join)
                    reloader.start()
                stack.callback(self._stop.set)
                self.server.mark_ready()
                on_ready(programs)
                if self._on_ready is not None:
                    self._on_ready()
                for filler in filter(None, (p.cache_filler() for p in programs)):
                    filler.start()
                    stack.callback(filler.stop)
                loop.run()

    def _reloader(self, live: LiveSet) -> Reloader | None:
        """The reloader of a run with a runner config logging events (None under the view, or without a config)."""
        config = self.settings.config
        if config is None or self._sinks is None or self._sinks.view is not None:
            return None
        from bee.run.reloading import Reloader  # only with a runner config, whose module imports PyYAML

        return Reloader(config, live, self._stop, self.err, self._pull)

    def _announce(self, programs: list[ProgramRun]) -> None:
        """Per attached program: the maps it exports (and as what), then its "attached" line, the last of its start."""
        assert self.server is not None
        for program in programs:
            exported = [f"{m.name} ({m.output})" for m in program.prepared.spec.tracked_maps]
            if exported:
                self.err.write(f"bee: exporting {', '.join(exported)} from {program.location}\n")
            count = len(program.hooks)
            hooks = ", ".join(hook.target for hook in program.hooks)
            self.err.write(f"bee: attached {count} program{'s' if count != 1 else ''} from {program.location} "
                           f"({hooks}); metrics on {self.server.url}/metrics\n")
        self.err.flush()
