"""The programs of a run: their names, their states, what a failed one does to the run, and what the
run says about them (`/healthz`, `bee_program_up`, `bee_program_info`).

A program is named by the short name of what the user gave: a file's name without its extension,
a reference's last repository component. Two programs with the same name are refused before
anything is read. A program that fails to start (read, prepare, load, attach) raises its error
when the run has one program or fails fast; otherwise one warning line names it and the reason,
it is recorded as failed, and the others go on. Once the run started (`tolerant`: programs a reload
adds), a failure is always only that warning. `/healthz` of a run of several programs, or of a runner
config, or with `--bpf-stats`, answers a JSON body with every program's state (and what `reporter` adds):
200 when all are attached, 503 otherwise.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from bee.errors import BeeError, UsageError
from bee.inputs import existing_file, looks_like_path
from bee.sinks.families import GaugeFamily
from bee.sinks.metrics import MetricsRegistry

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Protocol

    from bee.oci.sign.policy import TrustPolicy
    from bee.run.settings import ProgramOptions

    class Lines(Protocol):
        """Where a run writes its lines for the user: stderr, or the interactive view's `Notices`."""

        def write(self, text: str, /) -> int: ...

        def flush(self) -> None: ...

ATTACHED, FAILED, STARTING = "attached", "failed", "starting"


def short_name(argument: str) -> str:
    """The name of the program `argument` names: a file's stem, or a reference's last repository part."""
    if existing_file(argument) is not None or looks_like_path(argument):
        return Path(argument).stem
    from bee.oci.reference import parse_reference

    try:
        return parse_reference(argument).repository.rsplit("/", 1)[-1]
    except BeeError:
        return argument  # not a reference either: reading it fails with its own message


def name_programs(arguments: Sequence[str]) -> list[str]:
    """The name of each program in `arguments`; UsageError when two would have the same name."""
    names: dict[str, str] = {}
    for argument in arguments:
        name = short_name(argument)
        if name in names:
            raise UsageError(f"programs {names[name]} and {argument} would both be named {name}; "
                             "run one of them from a file or reference of another name")
        names[name] = argument
    return list(names)


class Lineup:
    """The programs of one run by name, in the order given, with their states (thread-safe).

    `fail()` applies the failure policy; `attached()` records a success; `first_error()` is the
    error a run with no program attached fails with."""

    def __init__(self, programs: Sequence[ProgramOptions], registry: MetricsRegistry, err: Lines, *,
                 fail_fast: bool = False, labelled: bool | None = None, trust: TrustPolicy | None = None) -> None:
        """`programs`: each program with its options, names already checked unique. `labelled`: whether
        series and events name their program and `/healthz` answers JSON (default: with several programs).
        `trust`: the signature policy every program of the run (those a reload adds too) is loaded under."""
        self.trust = trust
        self.names: list[str] = []
        self.options: dict[str, ProgramOptions] = {}
        self.arguments: dict[str, str] = {}
        self._lock = threading.Lock()
        self._states: dict[str, tuple[str, BeeError | None]] = {}
        for program in programs:
            self.add(program)
        self.several = len(self.names) > 1
        self.labelled = self.several if labelled is None else labelled
        self.fail_fast = fail_fast
        self.tolerant = False  # True once the run started: a failure is then never raised (a reload's)
        #: More keys for programs' `/healthz` entries, by program name (`--bpf-stats`: `bee.run.bpfstats`).
        self.reporter: Callable[[], Mapping[str, Mapping[str, object]]] | None = None
        self._err = err
        self._up = registry.register(GaugeFamily(
            "bee_program_up", "1 when the program is attached, 0 when it failed to start.", ("program",)))
        self._info = registry.register(GaugeFamily(
            "bee_program_info", "The program: its digest (sha256 of its ELF bytes) and where it came from; "
            "value 1.", ("program", "digest", "location")))

    def add(self, program: ProgramOptions) -> None:
        """Count `program` in, as starting (its name not taken: the caller checked)."""
        with self._lock:
            self.names = [*self.names, program.name]
            self.options[program.name] = program
            self.arguments[program.name] = program.program
            self._states[program.name] = (STARTING, None)

    def remove(self, name: str) -> None:
        """Count program `name` out: it no longer shows in `/healthz` (its series: the registry's
        `forget_program`)."""
        with self._lock:
            self.names = [n for n in self.names if n != name]
            del self.options[name], self.arguments[name], self._states[name]

    def describe(self, name: str, digest: str, location: str) -> None:
        """Record what program `name` is (digest of its bytes as given, its file or reference)."""
        self._info.set((name, digest, location), 1)

    def attached(self, name: str) -> None:
        with self._lock:
            self._states[name] = (ATTACHED, None)
        self._up.set((name,), 1)

    def fail(self, name: str, error: BeeError) -> None:
        """Program `name` could not start because of `error`: raise it when the run has one program or
        fails fast, while it starts; else (and always once `tolerant`) write one warning line and record
        the program as failed."""
        if not self.tolerant and (self.fail_fast or not self.several):
            raise error
        with self._lock:
            self._states[name] = (FAILED, error)
        self._up.set((name,), 0)
        self._err.write(f"bee: warning: program {name} ({self.arguments[name]}) did not start: {error.message}\n")
        self._err.flush()

    def notice(self, name: str, text: str) -> None:
        """One `bee: notice:` line on stderr about program `name` (named when the run labels its programs)."""
        who = f"program {name}: " if self.labelled else ""
        self._err.write(f"bee: notice: {who}{text}\n")
        self._err.flush()

    def failed(self, name: str) -> bool:
        with self._lock:
            return self._states[name][0] == FAILED

    def failure(self, name: str) -> BeeError | None:
        """Why program `name` did not start; None unless it failed."""
        with self._lock:
            return self._states[name][1]

    def first_error(self) -> BeeError | None:
        """The error of the first program (in the order given) that failed, or None; None once `tolerant`."""
        if self.tolerant:
            return None
        with self._lock:
            return next((error for state, error in self._states.values() if state == FAILED and error), None)

    def health(self, ready: bool) -> tuple[int, str, bytes]:
        """`/healthz` of a run of several programs: 200 when every program is attached and the run is
        reading, 503 otherwise; a JSON body `{"programs": {NAME: {"state": ..., "error": ..., ...}}}` where
        `...` is what `reporter` gives for NAME."""
        import json

        with self._lock:
            states = dict(self._states)
        extra = self.reporter() if self.reporter is not None else {}
        body = {"programs": {name: {"state": state, "error": error.message if error else None, **extra.get(name, {})}
                             for name, (state, error) in states.items()}}
        healthy = ready and all(state == ATTACHED for state, _ in states.values())
        return 200 if healthy else 503, "application/json", (json.dumps(body) + "\n").encode()
