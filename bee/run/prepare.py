"""Prepare: from what the user named to the bytes to load, with every check that needs no kernel.

`prepare(program, store_root, iface)` reads the program (file or store), parses it (`ObjectSpec`),
refuses what cannot run (no programs, an XDP/TC program without a valid `--iface`), and applies the
fixups; `with_params` adds the `.rodata` its parameters give (refusing values it does not take). Maps
named for an output bee cannot make from their type are not refused: `map_notices` says what each of
them is, for a notice at start. Nothing here touches the kernel, so a bad object or a typo costs no
load and leaves nothing behind.
"""

from __future__ import annotations

import socket
from pathlib import Path

from bee.elf.maps import MAPS_SECTION, PREFIXES, MapSpec, meant_name
from bee.elf.spec import ObjectSpec, host_problem, load_spec
from bee.errors import UsageError
from bee.records import Record
from bee.run.errors import RunError
from bee.run.fixups import loadable_bytes
from bee.run.source import ProgramSource, load_program

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import ClassVar

    from bee.oci.sign.policy import TrustPolicy
    from bee.params import RodataImage

#: Program kinds that attach to a network interface (`--iface`) rather than to a hook of their own.
INTERFACE_KINDS = frozenset({"xdp", "tc"})


class PreparedProgram(Record):
    """A program ready to load: where it came from, its spec, and the (fixed-up) bytes libbpf gets."""

    source: ProgramSource
    spec: ObjectSpec
    data: bytes  # what libbpf opens: `source.data` after `bee.run.fixups`
    iface: str | None = None  # the interface its XDP/TC programs attach to
    rodata: RodataImage | None = None  # the `.rodata` its parameters give (None: the object's own)

    _hidden: ClassVar[tuple[str, ...]] = ("data",)

    @property
    def needs_network(self) -> bool:
        """True when a program attaches to a network interface (CAP_NET_ADMIN is needed)."""
        return any(p.kind in INTERFACE_KINDS for p in self.spec.programs)


def interface_index(name: str) -> int:
    """The index of network interface `name`; UsageError when there is none."""
    try:
        return socket.if_nametoindex(name)
    except OSError:
        raise UsageError(f"there is no network interface named {name!r}") from None


def check_spec(spec: ObjectSpec, iface: str | None) -> None:
    """RunError/UsageError when `spec` cannot run as asked: built for another byte order, no programs,
    or programs that attach to a network interface without an existing `iface`."""
    problem = host_problem(spec)
    if problem is not None:
        raise RunError(problem)
    if not spec.programs:
        raise RunError(f"{spec.name} has no BPF programs to attach")
    needs_iface = [p for p in spec.programs if p.kind in INTERFACE_KINDS]
    if needs_iface and not iface:
        p = needs_iface[0]
        raise UsageError(f"program {p.function} (section {p.section}) attaches to a network interface; "
                         "name one with --iface NAME")
    if needs_iface:
        interface_index(iface or "")  # a wrong name fails before the port is bound


def with_outputs(spec: ObjectSpec, outputs: Mapping[str, str], location: str) -> ObjectSpec:
    """`spec` with the maps named in `outputs` exported as the given kinds; UsageError, one sentence, for a
    map the program does not have or a kind its type cannot give."""
    from bee.elf.maps import chosen_output

    names = {m.name for m in spec.maps}
    for name in outputs:
        if name not in names:
            known = ", ".join(sorted(n for n in names if not n.startswith("."))) or "none"
            raise UsageError(f"--output {name}={outputs[name]}: {location} has no map {name} (maps: {known})")
    try:
        maps = tuple(chosen_output(m, outputs[m.name]) if m.name in outputs else m for m in spec.maps)
    except ValueError as exc:
        raise UsageError(f"--output: {exc}") from None
    return spec.replace(maps=maps)


def map_notices(spec: ObjectSpec) -> tuple[str, ...]:
    """One sentence per map named for an output (`counter_`, ...) that bee cannot make from its type:
    the program runs, and the map is not exported."""
    return tuple(f"{m.unsupported}; it is not exported" for m in spec.maps if m.unsupported)


def untracked_notices(maps: tuple[MapSpec, ...], location: str) -> tuple[str, ...]:
    """What a run says at start about maps it will not export although their name suggests it should (a
    typo in the prefix, named in one sentence with the name meant), and about a program that exports no map
    at all. Maps named for an output their type cannot give are said by `MapSpec.unsupported`."""
    notices = []
    for spec in maps:
        if spec.output is not None or spec.name.startswith(".") or spec.section != MAPS_SECTION:
            continue
        meant = meant_name(spec.name)
        if meant is not None:
            notices.append(f"map {spec.name} is not exported: its name has no output prefix (did you mean "
                           f"{meant}?); bee exports maps named {PREFIXES} (or chosen with --output)")
    if not any(spec.tracked for spec in maps):
        notices.append(f"{location} exports no map: none is named {PREFIXES} (or chosen with --output "
                       "MAP=KIND), so this run shows no events and no ebpf_solo_io_ metrics; bee describe lists "
                       "its maps")
    return tuple(notices)


def prepare(program: str, store_root: Path, iface: str | None = None,
            trust: TrustPolicy | None = None, outputs: Mapping[str, str] | None = None) -> PreparedProgram:
    """Read, parse, check and fix up `program` (a file or a store reference), verified under `trust`, its
    maps named in `outputs` (map name → output kind, `--output`) exported as said.

    Raises the errors of `load_program` (InputFileError, RefNotFoundError, SignatureError, ...),
    ElfError subclasses for objects bee cannot read, UsageError for `outputs` the program cannot take,
    and those of `check_spec`."""
    source = load_program(program, store_root, trust=trust)
    spec = load_spec(source.data, name=source.location)
    if outputs:
        spec = with_outputs(spec, outputs, source.location)
    check_spec(spec, iface)
    return PreparedProgram(source, spec, loadable_bytes(source.data, spec, source.location), iface)


def with_params(prepared: PreparedProgram, params: Mapping[str, str], name: str) -> PreparedProgram:
    """`prepared` with the `.rodata` that `params` (parameter name → value as written) give it; itself when
    there are none. `name` is how messages name the program. Raises `bee.params.ParamError` (no such
    parameter, a value its type does not take)."""
    if not params:
        return prepared
    from bee.params import rodata_image  # only when parameters are given: off the plain start-up path

    return prepared.replace(rodata=rodata_image(prepared.spec, params, name))
