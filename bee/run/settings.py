"""`RunSettings`: everything `bee run` was asked to do, parsed and validated before any kernel work."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

from bee.errors import UsageError
from bee.records import Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from bee.oci.sign.policy import TrustPolicy
    from bee.run.config import RunnerConfig

DEFAULT_PROM_PORT = 9091
DEFAULT_POLL_INTERVAL = 1.0


class ProgramOptions(Record):
    """How one program of a run runs (give them by keyword): `program` is a file or a reference, `name`
    what events, series and `/healthz` call it; `hist_buckets` and `hist_value_keys` are keyed by map name;
    `params` gives parameter values by name, as written (`bee.params` reads them at prepare)."""

    program: str
    name: str
    pull: str = "missing"
    filters: tuple[str, ...] = ()
    hist_buckets: Mapping[str, tuple[float, ...]] = MappingProxyType({})
    hist_value_keys: Mapping[str, str] = MappingProxyType({})
    iface: str | None = None
    pin_maps: Path | None = None
    pin_progs: Path | None = None
    params: Mapping[str, str] = MappingProxyType({})
    outputs: Mapping[str, str] = MappingProxyType({})  # map name → output kind (`--output MAP=KIND`)


class RunSettings(Record):
    """Options of one run (give them by keyword). `programs`: files or references, one or more, each run
    with the run-wide options below (`hist_buckets` and `hist_value_keys` keyed by map name, in every
    program); or `entries`, each program with its own options (a runner config), `programs` then ignored.
    `params` (parameter name → value as written) go to every program of `programs`."""

    programs: tuple[str, ...] = ()
    entries: tuple[ProgramOptions, ...] = ()
    no_tty: bool = False
    fmt: str = "text"
    filters: tuple[str, ...] = ()
    hist_buckets: Mapping[str, tuple[float, ...]] = MappingProxyType({})
    hist_value_keys: Mapping[str, str] = MappingProxyType({})
    prom_host: str | None = None  # None: every interface, IPv6 and IPv4 where the host has IPv6
    prom_port: int = DEFAULT_PROM_PORT
    web_config: Path | None = None  # --web-config: TLS and basic auth of the metrics endpoint
    poll_interval: float = DEFAULT_POLL_INTERVAL
    pin_maps: Path | None = None
    pin_progs: Path | None = None
    iface: str | None = None
    fail_fast: bool = False  # several programs: one that fails to start ends the run
    params: Mapping[str, str] = MappingProxyType({})
    pull: str = "missing"  # when to pull each reference: bee.run.source.PULL_POLICIES
    config: RunnerConfig | None = None  # the runner config `entries` came from, which a reload replaces
    bpf_stats: bool = False  # turn the kernel's BPF run-time statistics on and export them (bee.run.bpfstats)
    trust: TrustPolicy | None = None  # the signatures programs need before they load (bee.oci.sign.policy)
    outputs: Mapping[str, str] = MappingProxyType({})  # map name → output kind, for every program

    def program_options(self) -> tuple[ProgramOptions, ...]:
        """Every program with its options: `entries`, or each of `programs` named by its short name (two of
        one name: UsageError) with the run-wide options, pinning under `DIR/NAME` when there are several."""
        if self.entries:
            return self.entries
        from bee.run.lineup import name_programs

        names = name_programs(self.programs)
        several = len(names) > 1
        return tuple(ProgramOptions(
            program=program, name=name, pull=self.pull, filters=self.filters, hist_buckets=self.hist_buckets,
            hist_value_keys=self.hist_value_keys, iface=self.iface, params=self.params, outputs=self.outputs,
            pin_maps=self.pin_maps / name if several and self.pin_maps is not None else self.pin_maps,
            pin_progs=self.pin_progs / name if several and self.pin_progs is not None else self.pin_progs,
        ) for name, program in zip(names, self.programs, strict=True))

    @property
    def several(self) -> bool:
        """True when the run has more than one program."""
        return len(self.entries or self.programs) > 1

    @property
    def labelled(self) -> bool:
        """True when series and events name their program: with several programs, and always with a runner
        config (a reload may add programs: series do not change their labels then)."""
        return self.several or self.config is not None


def parse_hist_buckets(values: Iterable[str]) -> dict[str, tuple[float, ...]]:
    """`-b "map,[1,2,3]"` (bumblebee's syntax) → {map: (1, 2, 3)}; UsageError on a bad value."""
    parsed: dict[str, tuple[float, ...]] = {}
    for text in values:
        import json  # only when there are buckets to read

        name, sep, rest = text.partition(",")
        try:
            buckets = json.loads(rest) if sep else None
        except ValueError:
            buckets = None
        if not name or not isinstance(buckets, list) or not buckets or not all(
                isinstance(b, int | float) and not isinstance(b, bool) for b in buckets):
            raise UsageError(f"invalid histogram buckets {text!r}: expected map_name,[b1,b2,...] with numbers")
        bounds = tuple(float(b) for b in buckets)
        if not all(math.isfinite(b) for b in bounds):
            raise UsageError(f"invalid histogram buckets {text!r}: bucket bounds must be finite numbers "
                             "(the +Inf bucket is always added)")
        if any(a >= b for a, b in zip(bounds, bounds[1:], strict=False)):
            raise UsageError(f"invalid histogram buckets {text!r}: bucket bounds must increase")
        parsed[name.strip()] = bounds
    return parsed


def parse_outputs(values: Iterable[str]) -> dict[str, str]:
    """`--output MAP=KIND`, each → {MAP: KIND} (whether the program has the map and its type gives the kind
    is checked when it is prepared); UsageError when one has no `=` or a map is given twice."""
    parsed: dict[str, str] = {}
    for text in values:
        name, sep, kind = (part.strip() for part in text.partition("="))
        if not name or not sep or not kind:
            raise UsageError(f"invalid output {text!r}: expected --output MAP=KIND (KIND: print, counter, gauge, "
                             "hist, log2hist or linhist)")
        if name in parsed:
            raise UsageError(f"map {name} is given two outputs (--output {name}={parsed[name]} and --output {text})")
        parsed[name] = kind
    return parsed


def parse_value_keys(values: Iterable[str]) -> dict[str, str]:
    """`-k map,field` → {map: field}; UsageError on a bad value."""
    parsed: dict[str, str] = {}
    for text in values:
        name, sep, key = (part.strip() for part in text.partition(","))
        if not name or not sep or not key or "," in key:
            raise UsageError(f"invalid histogram value key {text!r}: expected map_name,field_name")
        parsed[name] = key
    return parsed


def parse_params(values: Iterable[str]) -> dict[str, str]:
    """`--param NAME=VALUE`, each → {NAME: VALUE} (the value as written; its type is checked against the
    program at prepare); UsageError when one has no `=`, its name cannot name a C variable, or a name
    is given twice."""
    parsed: dict[str, str] = {}
    for text in values:
        from bee.params.assign import check_name  # only when parameters are given

        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"invalid parameter {text!r}: expected --param NAME=VALUE")
        name = check_name(name.strip())
        if name in parsed:
            raise UsageError(f"parameter {name} is given twice (--param {name}={parsed[name]} and --param {text})")
        parsed[name] = value
    return parsed
