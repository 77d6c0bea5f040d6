"""Attach: every program of a loaded object to its hook, chosen by program kind from one table; pinning.

A kind's attacher gets the libbpf `Program`, its spec (None for a program the spec does not know)
and the interface named by `--iface`, attaches it (the link is owned and closed by the object) and
returns what it attached to, as the "attached" line shows it. Kinds without an entry use libbpf's
auto-attach from the section name. Kernel minimum: the program kind's (XDP links 5.9, TC via netlink).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from bee.elf.spec import ObjectSpec, ProgramSpec
from bee.records import Record
from bee.run.errors import RunError
from bee.run.prepare import interface_index

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from bee.libbpf.map import Map
    from bee.libbpf.object import BpfObject
    from bee.libbpf.program import Program

#: Kinds whose attach reads tracefs (a fresh boot has none mounted: `system.ensure_tracefs`).
TRACEFS_KINDS = frozenset({"tracepoint", "tp", "ksyscall", "kprobe", "kretprobe", "uprobe", "uretprobe"})


class Hook(Record):
    """One attached program: its function, its section and what it is attached to."""

    function: str
    section: str
    target: str


def _attach_xdp(program: Program, spec: ProgramSpec | None, iface: str | None) -> str:
    program.attach_xdp(interface_index(iface or ""))
    return f"xdp on {iface}"


def _attach_tc(program: Program, spec: ProgramSpec | None, iface: str | None) -> str:
    section = spec.section if spec else program.section
    if "egress" in section:
        program.attach_tc(interface_index(iface or ""), "egress")
        return f"tc egress on {iface}"
    program.attach_tc(interface_index(iface or ""), "ingress")
    return f"tc ingress on {iface}"


def _auto_attach(program: Program, spec: ProgramSpec | None, iface: str | None) -> str:
    program.attach()
    return spec.hook if spec and spec.hook else (spec.section if spec else program.section)


Attacher = Callable[["Program", "ProgramSpec | None", "str | None"], str]

#: Program kind → attacher; every other kind (and an unknown one) is auto-attached by libbpf.
ATTACHERS: dict[str | None, Attacher] = {"xdp": _attach_xdp, "tc": _attach_tc}


def attach_all(obj: BpfObject, spec: ObjectSpec, iface: str | None) -> list[Hook]:
    """Attach every program of the loaded `obj` (whose spec is `spec`), in the object's order.

    Raises the libbpf errors of the first attach that fails (AttachError naming the program and
    what is missing); links made before it stay with `obj`, which detaches them when closed."""
    from bee.libbpf import system

    if any(p.kind in TRACEFS_KINDS for p in spec.programs):
        system.ensure_tracefs()
    by_function = {p.function: p for p in spec.programs}
    hooks = []
    for name, program in obj.programs.items():
        pspec = by_function.get(name)
        attacher = ATTACHERS.get(pspec.kind if pspec else None, _auto_attach)
        target = attacher(program, pspec, iface)
        hooks.append(Hook(name, pspec.section if pspec else program.section, target))
    return hooks


class PinSet:
    """The pins one `pin_all` made and the directories it created, to be undone by `undo()` (idempotent)."""

    def __init__(self) -> None:
        self.pinned: list[tuple[Map | Program, str]] = []
        self.made: list[Path] = []

    def undo(self) -> None:
        """Remove the pins, then the directories made (deepest first) if empty."""
        pinned, made, self.pinned, self.made = self.pinned, self.made, [], []
        _unpin(pinned, made)


def pin_all(obj: BpfObject, maps_dir: Path | None, programs_dir: Path | None) -> PinSet:
    """Pin the object's maps under `maps_dir` and its programs under `programs_dir` (each when given),
    mounting bpffs at /sys/fs/bpf first if needed; internal maps (.rodata, .bss) are not pinned.
    RunError when a directory cannot be made; the libbpf error when a pin fails. All or nothing: on a
    failure the pins this call made are removed, and so are the directories it created (when empty).
    Returns what it made, for a run that fails later to undo."""
    pins = PinSet()
    try:
        if maps_dir is not None:
            _pin(maps_dir, obj.maps, ("map", "--pin-maps"), pins.pinned, pins.made)
        if programs_dir is not None:
            _pin(programs_dir, obj.programs, ("program", "--pin-progs"), pins.pinned, pins.made)
    except BaseException:
        pins.undo()
        raise
    return pins


def _pin(directory: Path, items: Mapping[str, Map] | Mapping[str, Program], what: tuple[str, str],
         pinned: list[tuple[Map | Program, str]], made: list[Path]) -> None:
    """Pin `items` (`what`: their kind and the flag naming `directory`), adding each pin to `pinned` and the
    directories made to `made`."""
    from bee.libbpf import system

    system.ensure_bpffs(directory)  # a fresh boot has none mounted at /sys/fs/bpf
    missing = [d for d in (directory, *directory.parents) if not d.exists()]
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create the pin directory {directory}: {exc.strerror or exc}") from exc
    made.extend(missing)  # deepest first
    for name, item in items.items():
        if not name.startswith("."):
            path = str(directory / name)
            if os.path.lexists(path):  # libbpf would also log a warning line of its own
                raise RunError(f"cannot pin {what[0]} {name} at {path}: something is already pinned there; "
                               f"remove it or choose another directory with {what[1]}")
            item.pin(path)
            pinned.append((item, path))


def _unpin(pinned: list[tuple[Map | Program, str]], made: list[Path]) -> None:
    """Undo a partial `pin_all`: remove its pins, then the directories it made (deepest first) if empty."""
    for item, path in reversed(pinned):
        with contextlib.suppress(Exception):
            item.unpin(path)
    for directory in sorted(made, key=lambda d: len(d.parts), reverse=True):
        with contextlib.suppress(OSError):
            directory.rmdir()
