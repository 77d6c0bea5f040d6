"""`start_run`: what `bee run` does once its command line is read, whether by click or by `bee.commands.fastparse`."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

from bee.options import GlobalOptions

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from bee.oci.sign.policy import TrustPolicy
    from bee.run.settings import ProgramOptions, RunSettings


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
    settings = settings.replace(trust=run_trust(options, values, settings))
    entries = settings.program_options()  # two programs of the same name: refused before any pull

    def pull(entry: ProgramOptions) -> None:
        pulled = pull_for_run(entry.program, options, entry.pull, settings.trust)
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


def run_trust(options: GlobalOptions, values: Mapping[str, Any], settings: RunSettings) -> TrustPolicy | None:
    """The signature policy of the run: `--verify-key`, `--policy` and `--ignore-identity`, or the runner
    config's `verify_keys`, `policy` and `ignore_identity` (bee.oci.sign.policy); None when nothing asks
    for signatures. Without either, `<config-dir>/policy.yaml` applies when it exists; when neither a key,
    a policy nor that file exists, nothing is imported."""
    config = settings.config  # with --config, the flags are refused (bee.run.runconfig): the file says
    keys = config.verify_keys if config is not None else tuple(values.get("verify_keys") or ())
    policy = config.policy if config is not None else values.get("policy")
    ignore = config.ignore_identity if config is not None else bool(values.get("ignore_identity"))
    if not keys and policy is None and _surely_absent(options.config_dir / "policy.yaml"):
        return None  # the usual run: the signing modules stay unimported
    from bee.oci.sign.policy import trust_policy

    return trust_policy(keys, policy, options.config_dir, ignore)


def _surely_absent(path: Path) -> bool:
    """True when `path` is not a file; False when it cannot be looked at (trust_policy then says why)."""
    try:
        return not path.is_file()
    except OSError:
        return False


def end_of_start_up() -> None:
    """Turn the cyclic garbage collector back on if the start-up turned it off (`bee.cli`).

    What the start-up made (modules, BTF types, decoders) lives as long as the run: it is frozen
    out of the collector's generations first, so later collections do not walk through it."""
    import gc

    if not gc.isenabled():
        gc.freeze()
        gc.enable()
