"""`bee describe`: what a program contains and where it came from, as plain data.

Reads a file or a store entry and parses it with `bee.elf` (no kernel, no root).
Raises InputFileError, ElfError, StoreError, RefNotFoundError, InvalidReferenceError.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bee.elf.btf import Btf
from bee.elf.exports import labels, phrase
from bee.elf.fields import describe_type
from bee.elf.histograms import histogram_layout
from bee.elf.maps import KERNEL_HISTOGRAMS, MapSpec
from bee.elf.spec import ObjectSpec, host_problem, load_spec
from bee.elf.variables import mutable_globals, parameters
from bee.errors import ElfError, InputFileError
from bee.inputs import existing_file, looks_like_path, missing_file_message, read_object
from bee.oci import mediatypes
from bee.oci.errors import SignatureError
from bee.oci.layouts.converted import SOURCE_PREFIX
from bee.oci.reference import parse_reference
from bee.oci.sign.local import stored_signatures
from bee.oci.store import LocalStore
from bee.params import kind_of


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """One leaf field of a key or value type."""

    name: str
    type: str
    offset: int
    size: int
    bits: int | None = None


@dataclass(frozen=True, slots=True)
class MapInfo:
    name: str
    type: str
    max_entries: int
    output: str | None
    convention: str | None
    tracked: bool
    note: str | None
    key_type: str | None
    key_fields: list[FieldInfo]
    value_type: str | None
    value_fields: list[FieldInfo]
    exported: str | None = None  # what bee makes of it (tracked maps): `bee.elf.exports`
    histogram: str | None = None  # a log2hist_/linhist_ map's slots and bounds, or why they cannot be read
    help: str | None = None  # what the program says the map holds (BEE_HELP)
    unit: str | None = None  # the unit of its values (BEE_UNIT)


@dataclass(frozen=True, slots=True)
class ProgramInfo:
    name: str | None
    section: str
    kind: str | None
    hook: str | None
    instructions: int


@dataclass(frozen=True, slots=True)
class ParamInfo:
    """One parameter (`bee run --param NAME=VALUE`): its C type, size, and default as `--param` writes it
    (`text` when that is a string, shown in quotes); `settable` is False for types bee cannot write."""

    name: str
    type: str
    size: int
    default: str
    text: bool
    settable: bool


@dataclass(frozen=True, slots=True)
class Description:
    """Everything `bee describe` shows; `source` is the ref or the file path."""

    source: str
    size: int
    license: str | None
    programs: list[ProgramInfo]
    maps: list[MapInfo]
    has_btf: bool
    parameters: list[ParamInfo] = field(default_factory=list)
    mutable_globals: list[str] = field(default_factory=list)
    digest: str | None = None
    platform: dict[str, str] | None = None
    #: For a program built for several platforms: each one (`linux/arm64`), and `platform` is the one described.
    platforms: list[str] = field(default_factory=list)
    annotations: dict[str, str] = field(default_factory=dict)
    #: Why the object cannot run on this machine (another byte order), or None when it can.
    cannot_run: str | None = None
    #: Signatures the local store holds for it (`bee sign --local`, a verified pull); None for a file.
    signatures: int | None = None
    #: Why its stored signatures cannot be read, when they cannot.
    signature_problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _fields(btf: Btf | None, type_id: int | None) -> tuple[str | None, list[FieldInfo]]:
    if btf is None or not type_id:
        return None, []
    fields = [FieldInfo(f.path, f.type_name, f.offset, f.size, f.bit_size)
              for f in describe_type(btf, type_id) if f.path]  # a scalar type has no named fields
    return btf.type_name(type_id), fields


def _parameters(spec: ObjectSpec) -> list[ParamInfo]:
    found = parameters(spec)
    if found is None or spec.btf is None:
        return []
    infos = []
    for p in found.items:
        kind = kind_of(spec.btf, p.type_id, p.size)
        infos.append(ParamInfo(p.name, p.type_name, p.size, kind.format(p.default, found.endian), kind.text,
                               kind.settable))
    return infos


def _exported(m: MapSpec, key_fields: list[FieldInfo]) -> str | None:
    """What bee makes of a tracked map, and the labels of its series: for a polled map, named."""
    if not m.tracked or m.output is None:
        return None
    what = phrase(m.type_name, m.output)
    if not m.polled:
        return what if m.output == "print" else f"{what}; labels: {labels(m.type_name, m.output)}"
    if m.is_array and m.max_entries == 1:
        which = "none (an array of one entry)"
    elif key_fields:
        which = ", ".join(f.name.replace(".", "_") for f in key_fields)
    else:
        which = "index" if m.is_array else "key"
    if m.output == "print":
        return f"{what}; fields: {which if m.max_entries != 1 or not m.is_array else 'none'}, value"
    return f"{what}; labels: {which}"


def _histogram(spec: ObjectSpec, m: MapSpec) -> str | None:
    if not m.tracked or m.output not in KERNEL_HISTOGRAMS:
        return None
    try:
        return histogram_layout(spec, m).summary()
    except ElfError as exc:
        return f"bee run refuses it: {exc.message}"


def describe_spec(spec: ObjectSpec, source: str, size: int) -> Description:
    """Turn a parsed object into a Description (no store details)."""
    programs = [ProgramInfo(p.function, p.section, p.kind, p.hook, p.insn_count) for p in spec.programs]
    maps = []
    for m in spec.maps:
        key_type, key_fields = _fields(spec.btf, m.key_type_id)
        value_type, value_fields = _fields(spec.btf, m.value_type_id)
        maps.append(MapInfo(m.name, m.type_name, m.max_entries, m.output, m.convention, m.tracked, m.unsupported,
                            key_type, key_fields, value_type, value_fields, _exported(m, key_fields),
                            _histogram(spec, m), m.help, m.unit))
    return Description(source=source, size=size, license=spec.license, programs=programs, maps=maps,
                       has_btf=spec.has_btf, parameters=_parameters(spec),
                       mutable_globals=list(mutable_globals(spec)), cannot_run=host_problem(spec))


def describe_file(path: Path) -> Description:
    """Describe an object file on disk."""
    data = read_object(path)
    return describe_spec(load_spec(data, name=str(path)), str(path), len(data))


def describe_ref(store_root: Path, ref: str) -> Description:
    """Describe a program held in the local store under `ref`."""
    store = LocalStore(store_root)
    entry = store.resolve(ref)
    platforms = [f"{p.platform.os}/{p.platform.architecture}" for p in store.platforms(entry)
                 if entry.is_index and p.platform]
    chosen = store.for_platform(entry)  # an index: this machine's program is the one described
    manifest = store.manifest(chosen)
    data = store.program_bytes(chosen)
    described = describe_spec(load_spec(data, name=ref), ref, len(data))
    annotations = {k: v for k, v in (manifest.get("annotations") or {}).items()
                   if k in (mediatypes.DESCRIPTION, mediatypes.AUTHORS) or k.startswith(SOURCE_PREFIX)}
    try:
        signatures, problem = len(stored_signatures(store, parse_reference(ref).name, entry.digest)), None
    except SignatureError as exc:
        signatures, problem = 0, str(exc)
    return replace(described, digest=entry.digest, annotations=annotations, platforms=platforms,
                   platform=chosen.platform.to_json() if chosen.platform else None,
                   signatures=signatures, signature_problem=problem)


def describe(store_root: Path, program: str) -> Description:
    """Describe `program`: an existing file, else a reference in the store."""
    path = existing_file(program)
    if path is not None:
        return describe_file(path)
    if looks_like_path(program):
        raise InputFileError(missing_file_message(program))
    return describe_ref(store_root, program)
