"""`load_spec`: what a BPF object contains (programs, maps, license, BTF), without the kernel.

Deterministic: the same bytes give an equal `ObjectSpec` on any machine. Programs come
from executable sections other than `.text` (one per FUNC symbol); maps from the BTF
DATASECs `.maps` and `.maps.<kind>`, and from a legacy `maps` section.
"""

from __future__ import annotations

from bee.elf.btf import Btf, parse_btf
from bee.elf.btf_ext import core_relocations
from bee.elf.btf_types import Composite, Kind
from bee.elf.elf import ET_REL, STT_FUNC, STT_SECTION, ElfFile, Section, read_elf
from bee.elf.maps import LEGACY_MAPS_SECTION, MapSpec, btf_maps_in, is_map_section, legacy_map
from bee.elf.sections import SectionDef, parse_section_name
from bee.errors import ElfError
from bee.records import Record  # not dataclasses: ~8 ms + 0.7 ms a class of bee run (docs/dev/startup.md)

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import ClassVar

TEXT_SECTION = ".text"
BTF_SECTION = ".BTF"
LICENSE_SECTION = "license"
INSN_SIZE = 8
#: Program kinds (`bee.elf.sections`) that libbpf attaches by a kernel type it looks up in vmlinux BTF.
KERNEL_BTF_KINDS = frozenset({"tp_btf", "fentry", "fexit", "fmod_ret", "lsm", "lsm_cgroup", "iter", "struct_ops"})


class ProgramSpec(Record):
    """One program. `kind`, `prog_type`, `hook`, `attach_type`, `sleepable` come from the section
    name (see `bee.elf.sections`); `kind` and `prog_type` are None when libbpf knows no such section.
    `function` is None only for a section without a FUNC symbol.
    """

    function: str | None
    section: str
    kind: str | None
    prog_type: str | None
    hook: str | None
    attach_type: str | None
    sleepable: bool
    insn_count: int
    offset: int  # byte offset of the first instruction within the section
    section_index: int


class ObjectSpec(Record):
    """Everything `load_spec` reads from an object; `btf` is None when there is no `.BTF` section."""

    name: str
    programs: tuple[ProgramSpec, ...]
    maps: tuple[MapSpec, ...]
    license: str | None
    has_btf: bool
    btf: Btf | None
    arch_hint: str | None  # the __TARGET_ARCH_ the object was built for, when its BTF shows it
    endian: str  # "little" or "big"
    elf: ElfFile

    _hidden: ClassVar[tuple[str, ...]] = ("elf",)

    def program(self, function: str) -> ProgramSpec | None:
        return next((p for p in self.programs if p.function == function), None)

    def map(self, name: str) -> MapSpec | None:
        return next((m for m in self.maps if m.name == name), None)

    @property
    def tracked_maps(self) -> tuple[MapSpec, ...]:
        return tuple(m for m in self.maps if m.tracked)

    def kernel_btf_needs(self) -> tuple[str, ...]:
        """What cannot load without the running kernel's BTF (/sys/kernel/btf/vmlinux), one phrase each,
        in section order: programs whose kind attaches through it (`KERNEL_BTF_KINDS`), then code
        with CO-RE relocations (`.BTF.ext`). Empty when the object loads on a kernel without BTF.
        Raises ElfError when `.BTF.ext` is malformed."""
        needs = [f"program {p.function or '(unnamed)'} (section {p.section}) is a {p.kind} program"
                 for p in self.programs if p.kind in KERNEL_BTF_KINDS]
        for section, offsets in core_relocations(self.elf, self.btf).items():
            left = set(offsets)
            for p in self.programs:
                if p.section == section:
                    mine = {o for o in left if p.offset <= o < p.offset + p.insn_count * INSN_SIZE}
                    if mine:
                        needs.append(f"program {p.function or '(unnamed)'} (section {section}) uses "
                                     f"{_relocations(mine)}")
                        left -= mine
            if left:  # subprograms (.text) or code outside every program
                needs.append(f"code in section {section} uses {_relocations(left)}")
        return tuple(needs)


def _relocations(offsets: set[int]) -> str:
    return f"{len(offsets)} CO-RE relocation{'s' if len(offsets) != 1 else ''}"


def _program(section: Section, sec: SectionDef | None, function: str | None, size: int, offset: int) -> ProgramSpec:
    """The program `function` (None: the whole section), `size` bytes at `offset` of `section`."""
    return ProgramSpec(function=function, section=section.name, kind=sec.kind if sec else None,
                       prog_type=sec.prog_type if sec else None, hook=sec.hook if sec else None,
                       attach_type=sec.attach_type if sec else None, sleepable=sec.sleepable if sec else False,
                       insn_count=size // INSN_SIZE, offset=offset, section_index=section.index)


def _programs(elf: ElfFile) -> tuple[ProgramSpec, ...]:
    programs = []
    for section in elf.sections:
        if not section.executable or section.name == TEXT_SECTION or section.size == 0:
            continue
        sec = parse_section_name(section.name)
        funcs = sorted((s for s in elf.symbols_in(section) if s.type == STT_FUNC), key=lambda s: (s.value, s.name))
        if not funcs:
            programs.append(_program(section, sec, None, section.size, 0))
        for sym in funcs:
            programs.append(_program(section, sec, sym.name, sym.size or section.size - sym.value, sym.value))
    return tuple(programs)


def _symbols_by_name(elf: ElfFile, section: Section | None) -> dict[str, tuple[int, int]]:
    if section is None:
        return {}
    return {s.name: (s.value, s.size) for s in elf.symbols_in(section) if s.name and s.type != STT_SECTION}


def _btf_maps(elf: ElfFile, btf: Btf) -> list[MapSpec]:
    index = {s.name: s.index for s in elf.sections}
    datasecs = [d for d in btf.datasecs() if is_map_section(d.name)]
    datasecs.sort(key=lambda d: (index.get(d.name, len(elf.sections)), d.id))
    maps: list[MapSpec] = []
    for datasec in datasecs:
        maps += btf_maps_in(btf, datasec, _symbols_by_name(elf, elf.section(datasec.name)))
    return maps


def _legacy_maps(elf: ElfFile) -> list[MapSpec]:
    section = elf.section(LEGACY_MAPS_SECTION)
    if section is None:
        return []
    symbols = sorted((s for s in elf.symbols_in(section) if s.name and s.type != STT_SECTION),
                     key=lambda s: (s.value, s.name))
    data = elf.section_data(section)
    default_size = section.size // len(symbols) if symbols else 0
    return [legacy_map(s.name, data, s.value, s.size or default_size, elf.endian) for s in symbols]


def _license(elf: ElfFile) -> str | None:
    section = elf.section(LICENSE_SECTION)
    if section is None:
        return None
    return elf.section_data(section).split(b"\0", 1)[0].decode("utf-8", errors="replace")


# Member names of `struct pt_regs` (or a struct only one architecture has) per __TARGET_ARCH_ value.
_ARCH_MARKERS = (
    ("x86", {"di", "si", "orig_ax"}),
    ("arm64", {"pstate", "user_regs", "orig_x0"}),
    ("s390", {"psw", "gprs"}),
    ("riscv", {"epc", "a0", "ra"}),
    ("powerpc", {"gpr", "nip"}),
    ("arm", {"uregs"}),
    ("loongarch", {"csr_era"}),
    ("mips", {"cp0_epc"}),
)


def _member_names(btf: Btf, composite: Composite, depth: int = 0) -> set[str]:
    names = set()
    for m in composite.members:
        if m.name:
            names.add(m.name)
        target = btf.resolve(m.type_id)
        if not m.name and isinstance(target, Composite) and depth < 4:
            names |= _member_names(btf, target, depth + 1)
    return names


def _arch_hint(btf: Btf | None) -> str | None:
    if btf is None:
        return None
    if btf.find("user_pt_regs", Kind.STRUCT) is not None:
        return "arm64"
    pt_regs = btf.find("pt_regs", Kind.STRUCT)
    if not isinstance(pt_regs, Composite):
        return None
    names = _member_names(btf, pt_regs)
    for arch, markers in _ARCH_MARKERS:
        if names & markers:
            return arch
    return None


def load_spec(data: bytes, name: str = "input") -> ObjectSpec:
    """Read the spec of a relocatable BPF object; `name` is how messages refer to it.

    Raises NotElfError, NotBpfError, or ElfError (not ELF64, not a relocatable object, malformed
    headers, malformed BTF, a map definition that is not a struct of `__uint`/`__type` members).
    """
    elf = read_elf(data, name)
    if elf.header.bits != 64:
        raise ElfError(f"{name} says it is a 32-bit ELF file (class byte ELFCLASS32), but BPF objects are always "
                       "64-bit: the file is damaged or was not written by a BPF compiler; rebuild it from its source")
    if elf.header.type != ET_REL:
        raise ElfError(f"{name} is a BPF {elf.header.type_name} file, not a relocatable object (clang -c output)")
    btf: Btf | None = None
    btf_section = elf.section(BTF_SECTION)
    maps: list[MapSpec] = []
    try:
        if btf_section is not None:
            btf = parse_btf(elf.section_data(btf_section))
            maps = _btf_maps(elf, btf)
    except ElfError as exc:
        raise type(exc)(f"{name}: {exc.message}") from exc
    maps += _legacy_maps(elf)
    return ObjectSpec(
        name=name, programs=_programs(elf), maps=tuple(maps), license=_license(elf),
        has_btf=btf is not None, btf=btf, arch_hint=_arch_hint(btf),
        endian="little" if elf.endian == "<" else "big", elf=elf,
    )



def host_problem(spec: ObjectSpec) -> str | None:
    """Why `spec` cannot run on this machine (one sentence naming the fix), or None when it can.

    A BPF object is always ELF64 for EM_BPF (`read_elf` refuses others); what remains is its byte
    order, which must be the host's: the kernel loads instructions as they are.
    """
    import sys

    if spec.endian != sys.byteorder:
        target = "bpfeb" if spec.endian == "big" else "bpfel"
        return (f"{spec.name} is a {spec.endian}-endian BPF object (built with -target {target}) and this machine "
                f"is {sys.byteorder}-endian, so it cannot run here; rebuild it for this machine "
                "(bee build uses -target bpf, the host's byte order)")
    return None
