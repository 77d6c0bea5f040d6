"""`start_run`: what `bee run` does once its command line is read, whether by click or by `bee.commands.fastparse`."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

from bee.options import GlobalOptions

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/startup.md
if TYPE_CHECKING:
    from typing import Any


def start_run(options: GlobalOptions, programs: Sequence[str], values: Mapping[str, Any]) -> None:
    """Set up logging, pull each of `programs` if the policy says so, then run them until signalled.

    `values` holds every option of `bee.commands.params.RUN_OPTIONS` by `dest`. Raises the `BeeError`s of
    settings parsing and `Runner.run`, and of pulling when one program runs or `--fail-fast` is given
    (else a program that cannot be pulled is one that failed to start: `bee.run.lineup`).
    """
    from bee import log
    from bee.errors import BeeError
    from bee.run.lineup import name_programs
    from bee.run.runner import Runner
    from bee.run.settings import RunSettings, parse_hist_buckets, parse_value_keys
    from bee.run.source import pull_for_run

    log.configure(log.DEBUG if (values["debug"] or options.debug) else log.INFO if options.verbose else log.WARNING)
    settings = RunSettings(
        programs=tuple(programs), no_tty=values["no_tty"], fmt=values["fmt"], filters=values["filters"],
        hist_buckets=parse_hist_buckets(values["hist_buckets"]),
        hist_value_keys=parse_value_keys(values["hist_value_key"]),
        prom_host=values["prom_addr"], prom_port=values["prom_port"], poll_interval=values["poll_interval"],
        pin_maps=values["pin_maps"], pin_progs=values["pin_progs"], iface=values["iface"],
        fail_fast=values["fail_fast"],
    )
    name_programs(settings.programs)  # two programs of the same name: refused before any pull
    failures: dict[str, BeeError] = {}
    for program in settings.programs:
        try:
            pulled = pull_for_run(program, options, str(values["pull_policy"]))
        except BeeError as exc:
            if settings.fail_fast or len(settings.programs) == 1:
                raise
            failures[program] = exc
            continue
        if pulled is not None:
            print(f"bee: pulled {pulled.ref} ({pulled.digest})", file=sys.stderr, flush=True)
    Runner(settings, options.storage, on_ready=end_of_start_up, failures=failures).run()


def end_of_start_up() -> None:
    """Turn the cyclic garbage collector back on if the start-up turned it off (`bee.cli`).

    What the start-up made (modules, BTF types, decoders) lives as long as the run: it is frozen
    out of the collector's generations first, so later collections do not walk through it."""
    import gc

    if not gc.isenabled():
        gc.freeze()
        gc.enable()
