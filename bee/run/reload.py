"""Reloading a runner config: noticing that the file changed, and what a new config changes.

`ConfigWatcher(path).changed()` says whether the file now holds other bytes than when last read. It
follows symbolic links at every look, so the swap a Kubernetes ConfigMap volume makes (the file is a
link through `..data`, which is replaced by a new directory) counts as a change, as does an edit in
place. `plan_reload(old, new)` compares two validated configs by program name: programs only in `new`
are added, programs only in `old` removed, programs whose entry differs replaced, the others kept
running untouched (their counters go on). Settings of the whole runner (metrics address and port,
event log format, signature keys and policy) cannot change while it runs: such a config is refused
with one sentence, and the old set keeps running.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

from bee.run.config import ConfigError, ProgramEntry, RunnerConfig
from bee.yamlfile import MAX_BYTES

#: Settings of the whole runner that a reload cannot change, with how to name them to the user.
FIXED_SETTINGS = (("prom_host", "metrics.address"), ("prom_port", "metrics.port"), ("fmt", "format"),
                  ("verify_keys", "verify_keys"), ("policy", "policy"), ("ignore_identity", "ignore_identity"))


@dataclass(frozen=True, slots=True)
class ReloadPlan:
    """What applying a new config does, each tuple in the new (or, for `remove`, the old) config's order."""

    add: tuple[ProgramEntry, ...]
    remove: tuple[ProgramEntry, ...]
    keep: tuple[ProgramEntry, ...]

    @property
    def empty(self) -> bool:
        """True when nothing is added or removed."""
        return not self.add and not self.remove

    def summary(self) -> str:
        """One line for the log: `reload: +2 -1 (3 unchanged): added a, b; removed c`."""
        parts = [f"added {', '.join(p.name for p in self.add)}" if self.add else "",
                 f"removed {', '.join(p.name for p in self.remove)}" if self.remove else ""]
        detail = "; ".join(part for part in parts if part) or "nothing to do"
        return f"reload: +{len(self.add)} -{len(self.remove)} ({len(self.keep)} unchanged): {detail}"


def plan_reload(old: RunnerConfig, new: RunnerConfig) -> ReloadPlan:
    """What going from `old` to `new` takes. A program whose entry changed in any way (reference, filters,
    buckets, pins, params...) is removed and added again. Raises ConfigError naming the first runner-wide setting
    that differs; the caller then keeps `old` running."""
    for attribute, name in FIXED_SETTINGS:
        before, after = getattr(old, attribute), getattr(new, attribute)
        if before != after:
            raise ConfigError(f"{new.file}: {name} changed from {before!r} to {after!r}, which a reload cannot "
                              "apply: restart the runner for it (the programs keep running as before)")
    old_by_name = {p.name: p for p in old.programs}
    new_names = {p.name for p in new.programs}
    add, keep = [], []
    remove = [p for p in old.programs if p.name not in new_names]
    for program in new.programs:
        before = old_by_name.get(program.name)
        if before is not None and _same(before, program):
            keep.append(program)
            continue
        if before is not None:
            remove.append(before)
        add.append(program)
    return ReloadPlan(tuple(add), tuple(remove), tuple(keep))


def _same(a: ProgramEntry, b: ProgramEntry) -> bool:
    """Equal entries, whatever line they stand on."""
    return a == dataclasses.replace(b, line=a.line)


class ConfigWatcher:
    """Tells whether a config file's content changed since the last `changed()` (or since it was made)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._digest = self._read()

    def _read(self) -> str | None:
        """The SHA-256 of what `path` leads to now; None while it cannot be read (a swap in progress)."""
        try:
            with self.path.open("rb") as handle:  # opens through the links as they are now
                return hashlib.sha256(handle.read(MAX_BYTES + 1)).hexdigest()
        except OSError:
            return None

    def changed(self) -> bool:
        """True once per change of content; a file that cannot be read now is not a change (yet)."""
        digest = self._read()
        if digest is None or digest == self._digest:
            return False
        self._digest = digest
        return True
