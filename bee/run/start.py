"""`start_run`: what `bee run` does once its command line is read, whether by click or by `bee.commands.fastparse`."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

from bee.options import GlobalOptions

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/startup.md
if TYPE_CHECKING:
    from typing import Any

    from bee.run.settings import ProgramOptions


def start_run(options: GlobalOptions, programs: Sequence[str], values: Mapping[str, Any]) -> None:
    """Set up logging, pull each of `programs` (or of the runner config `values["runner_config"]`) if its
    policy says so, then run them until signalled.

    `values` holds every option of `bee.commands.params.RUN_OPTIONS` by `dest`. Raises the `BeeError`s of
    settings parsing (`bee.run.runconfig`) and `Runner.run`, and of pulling when one program runs or the run
    fails fast (else a program that cannot be pulled is one that failed to start: `bee.run.lineup`).
    """
    from bee import log
    from bee.errors import BeeError
    from bee.run.runconfig import settings_from
    from bee.run.runner import Runner
    from bee.run.source import pull_for_run

    log.configure(log.DEBUG if (values["debug"] or options.debug) else log.INFO if options.verbose else log.WARNING)
    settings = settings_from(programs, values)
    entries = settings.program_options()  # two programs of the same name: refused before any pull

    def pull(entry: ProgramOptions) -> None:
        pulled = pull_for_run(entry.program, options, entry.pull)
        if pulled is not None:
            print(f"bee: pulled {pulled.ref} ({pulled.digest})", file=sys.stderr, flush=True)

    failures: dict[str, BeeError] = {}
    for entry in entries:
        try:
            pull(entry)
        except BeeError as exc:
            if settings.fail_fast or len(entries) == 1:
                raise
            failures[entry.name] = exc
    Runner(settings, options.storage, on_ready=end_of_start_up, failures=failures, pull=pull).run()


def end_of_start_up() -> None:
    """Turn the cyclic garbage collector back on if the start-up turned it off (`bee.cli`).

    What the start-up made (modules, BTF types, decoders) lives as long as the run: it is frozen
    out of the collector's generations first, so later collections do not walk through it."""
    import gc

    if not gc.isenabled():
        gc.freeze()
        gc.enable()
