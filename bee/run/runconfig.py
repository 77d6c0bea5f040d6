"""`settings_from`: the `RunSettings` of a `bee run` command line, its programs given as arguments or by a
runner config file (`--config FILE`, read by `bee.run.config`, imported only then).

With `--config`, the file says everything about the programs and the runner: giving programs as
arguments too, or a run option the file also sets (`-f`, `-b`, `-k`, `--format`, `--prom-port`,
`--prom-addr`, `--poll-interval`, `--iface`, `--pin-maps`, `--pin-progs`, `--pull`, `--fail-fast`, `--param`,
`--verify-key`, `--policy`, `--ignore-identity`, `--output`)
with a value other than its default, is refused with one sentence naming it. `--no-tty`, `--debug` and
`--bpf-stats` still apply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bee.errors import UsageError
from bee.inputs import expand_user
from bee.run.settings import (
    DEFAULT_POLL_INTERVAL,
    DEFAULT_PROM_PORT,
    ProgramOptions,
    RunSettings,
    parse_hist_buckets,
    parse_outputs,
    parse_params,
    parse_value_keys,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from typing import Any

    from bee.run.config import ProgramEntry

#: Run options the runner config sets, refused next to `--config`: `dest` → (flag, default), as
#: `bee.commands.params.RUN_OPTIONS` declares them (tests/unit/test_run_config_cli.py checks they agree).
CONFIGURED: dict[str, tuple[str, object]] = {
    "filters": ("--filter", ()), "hist_buckets": ("--hist-buckets", ()), "hist_value_key": ("--hist-value-key", ()),
    "fmt": ("--format", "text"), "prom_port": ("--prom-port", DEFAULT_PROM_PORT), "prom_addr": ("--prom-addr", None),
    "poll_interval": ("--poll-interval", DEFAULT_POLL_INTERVAL), "iface": ("--iface", None),
    "pin_maps": ("--pin-maps", None), "pin_progs": ("--pin-progs", None), "pull_policy": ("--pull", "missing"),
    "fail_fast": ("--fail-fast", False), "params": ("--param", ()), "verify_keys": ("--verify-key", ()),
    "policy": ("--policy", None), "ignore_identity": ("--ignore-identity", False), "outputs": ("--output", ()),
}


def settings_from(programs: Sequence[str], values: Mapping[str, Any]) -> RunSettings:
    """The settings of `bee run` given `programs` and the run options `values` (by `dest`). UsageError when
    both or neither of programs and `--config` are given, or an option clashes with `--config`;
    ConfigError (`bee.yamlfile`) for a bad config file."""
    path = values.get("runner_config")
    if path is None:
        if not programs:
            raise UsageError("bee run needs a program: give BPF_PROGRAM arguments or --config FILE")
        return RunSettings(
            programs=tuple(programs), no_tty=values["no_tty"], fmt=values["fmt"], filters=values["filters"],
            hist_buckets=parse_hist_buckets(values["hist_buckets"]),
            hist_value_keys=parse_value_keys(values["hist_value_key"]),
            prom_host=values["prom_addr"], prom_port=values["prom_port"], poll_interval=values["poll_interval"],
            pin_maps=values["pin_maps"], pin_progs=values["pin_progs"], iface=values["iface"],
            fail_fast=values["fail_fast"], pull=str(values["pull_policy"]), bpf_stats=bool(values["bpf_stats"]),
            params=parse_params(values["params"]), outputs=parse_outputs(values.get("outputs", ())),
            web_config=values.get("web_config"),
        )
    if programs:
        raise UsageError(f"give programs either as arguments or in --config {path}, not both "
                         f"(got {' '.join(programs)})")
    _refuse_clashes(values, path)
    from bee.run.config import load_config

    config = load_config(expand_user(path))
    return RunSettings(
        entries=tuple(options_of(entry) for entry in config.programs),
        no_tty=values["no_tty"], fmt=config.fmt, prom_host=config.prom_host, prom_port=config.prom_port,
        poll_interval=config.poll_interval, fail_fast=config.fail_fast, config=config,
        bpf_stats=bool(values["bpf_stats"]), web_config=values.get("web_config"),
    )


def options_of(entry: ProgramEntry) -> ProgramOptions:
    """How the program of a runner config's `entry` runs."""
    return ProgramOptions(
        program=entry.program, name=entry.name, pull=entry.pull, filters=entry.filters,
        hist_buckets=entry.hist_buckets, hist_value_keys=entry.hist_value_keys, iface=entry.iface,
        pin_maps=entry.pin_maps, pin_progs=entry.pin_progs, params=entry.params, outputs=entry.outputs,
    )


def _refuse_clashes(values: Mapping[str, Any], path: object) -> None:
    """UsageError naming the first option of CONFIGURED given a value other than its default."""
    for dest, (flag, default) in CONFIGURED.items():
        if values.get(dest, default) != default:
            raise UsageError(f"{flag} cannot be given with --config {path}: set it in the config file instead")
