"""An object's global variables: the parameters a run may set, and the mutable globals it may not.

A *parameter* is a global (not `static`) variable of the `.rodata` section whose type is
`volatile`-qualified, `const volatile u32 target_pid = 0;` in C: libbpf creates the `.rodata` map from
the section's bytes, which can be replaced between open and load, and freezes it, so the verifier
sees the value given as a constant. A `const` without `volatile` is folded into the code by the
compiler (changing its bytes would change nothing), and string literals live in `.rodata.str1.1`:
neither is a parameter. Globals of `.data` and `.bss` are *mutable*: the program may change them,
and bee does not set them.

Pure: read from the BTF DATASECs, the ELF symbols (clang leaves the DATASEC offsets 0 in an object;
libbpf takes them from the symbols at open, as this does) and the section bytes; no kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

from bee.elf.btf import Btf
from bee.elf.btf_types import Array, Const, Datasec, Linkage, Restrict, TypeTag, Var, Volatile
from bee.elf.elf import STT_SECTION
from bee.elf.spec import ObjectSpec
from bee.errors import ElfError

RODATA_SECTION = ".rodata"
MUTABLE_SECTIONS = (".data", ".bss")
_QUALIFIERS = (Const, Volatile, Restrict, TypeTag)


@dataclass(frozen=True, slots=True)
class Parameter:
    """One parameter: `type_id` is its type without `const volatile` (an array's elements keep theirs),
    `type_name` that type as C writes it (`u32`, `char[16]`, `enum mode`), `offset` and `size` its bytes
    within `.rodata`, `default` the bytes the object gives it."""

    name: str
    type_id: int
    type_name: str
    offset: int
    size: int
    default: bytes


@dataclass(frozen=True, slots=True)
class Parameters:
    """The parameters of an object, in `.rodata` order. `datasec_id` is the BTF id of the `.rodata`
    DATASEC (libbpf's `.rodata` map has it as its value type) and `image` the section's bytes: the
    initial value of that map, which a run replaces whole. `endian` is "little" or "big"."""

    datasec_id: int
    image: bytes
    items: tuple[Parameter, ...]
    endian: str

    def get(self, name: str) -> Parameter | None:
        """The parameter called `name`, or None."""
        return next((p for p in self.items if p.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.items)


def strip_qualifiers(btf: Btf, type_id: int) -> int:
    """`type_id` without the const, volatile, restrict and type tags in front of it (typedefs stay)."""
    t = btf.get(type_id)
    for _ in range(len(btf)):
        if not isinstance(t, _QUALIFIERS):
            break
        t = btf.get(t.type_id)
    return t.id


def _is_volatile(btf: Btf, type_id: int) -> bool:
    """Whether `type_id` (or, for an array, its elements) is volatile-qualified."""
    t = btf.get(type_id)
    for _ in range(len(btf)):
        if isinstance(t, Volatile):
            return True
        if isinstance(t, (*_QUALIFIERS, Array)):
            t = btf.get(t.type_id)
        else:
            return False
    return False


def c_type_name(btf: Btf, type_id: int) -> str:
    """The type as a declaration writes it, without qualifiers: `u32`, `char[16]`, `u16[2][4]`."""
    t = btf.get(strip_qualifiers(btf, type_id))
    dims = ""
    while isinstance(t, Array):
        dims += f"[{t.nelems}]"
        t = btf.get(strip_qualifiers(btf, t.type_id))
    return btf.type_name(t.id) + dims


MAX_EMPTY_RODATA = 1 << 20  # the largest `.rodata` without file bytes (never so in compiler output) laid out


def _datasec(btf: Btf, name: str) -> Datasec | None:
    return next((d for d in btf.datasecs() if d.name == name), None)


def _variables(spec: ObjectSpec, section_name: str) -> list[tuple[Var, int, int]]:
    """(VAR, offset, size) of the global variables in DATASEC `section_name`, by offset."""
    btf, section = spec.btf, spec.elf.section(section_name)
    if btf is None or section is None:
        return []
    datasec = _datasec(btf, section_name)
    if datasec is None:
        return []
    symbols = {s.name: s for s in spec.elf.symbols_in(section) if s.name and s.type != STT_SECTION}
    found = []
    for entry in datasec.vars:
        var = btf.get(entry.type_id)
        if not isinstance(var, Var) or var.linkage == Linkage.STATIC:
            continue
        symbol = symbols.get(var.name)
        offset = symbol.value if symbol is not None else entry.offset
        size = entry.size or (symbol.size if symbol is not None else 0) or btf.size_of(var.type_id)
        found.append((var, offset, size))
    found.sort(key=lambda item: (item[1], item[0].name))
    return found


def parameters(spec: ObjectSpec) -> Parameters | None:
    """The parameters of `spec`, or None when it has no `.rodata` section with BTF (then it has none).

    A parameter whose bytes lie outside the section is left out. Raises ElfError for malformed BTF
    (a VAR type without a size, a `.rodata` of over 1 MiB without file bytes)."""
    btf, section = spec.btf, spec.elf.section(RODATA_SECTION)
    if btf is None or section is None:
        return None
    datasec = _datasec(btf, RODATA_SECTION)
    if datasec is None:
        return None
    if not section.in_file and section.size > MAX_EMPTY_RODATA:
        raise ElfError(f"section {RODATA_SECTION} says it is {section.size} bytes but has none in the file, which "
                       "no compiler writes: the object is damaged")
    image = spec.elf.section_data(section) if section.in_file else bytes(section.size)
    items = []
    for var, offset, size in _variables(spec, RODATA_SECTION):
        if not _is_volatile(btf, var.type_id) or offset + size > len(image):
            continue
        type_id = strip_qualifiers(btf, var.type_id)
        items.append(Parameter(var.name, type_id, c_type_name(btf, type_id), offset, size,
                               image[offset:offset + size]))
    return Parameters(datasec.id, image, tuple(items), spec.endian)


def mutable_globals(spec: ObjectSpec) -> tuple[str, ...]:
    """The names of the global variables in `.data` and `.bss`, which are not parameters."""
    return tuple(var.name for name in MUTABLE_SECTIONS for var, _, _ in _variables(spec, name))
