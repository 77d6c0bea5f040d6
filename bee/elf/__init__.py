"""Pure-Python ELF and BTF reading, and the program spec (no kernel, no root).

`load_spec(bytes)` is the entry point: it reads the ELF (`bee.elf.elf`), the BTF
(`bee.elf.btf`), and classifies programs (`bee.elf.sections`) and maps (`bee.elf.maps`).

Imports `bee.errors` and `bee.records` only: the bottom layer, never `bee.libbpf` or anything
above it (checked by import-linter). On `bee run`'s start-up path (docs/dev/startup.md).
"""

from bee.elf.btf import Btf, parse_btf
from bee.elf.elf import ElfFile, NotBpfError, NotElfError, read_elf
from bee.elf.fields import FieldSpec, describe_type, field_tree
from bee.elf.maps import MapSpec
from bee.elf.spec import ObjectSpec, ProgramSpec, load_spec

__all__ = [
    "Btf",
    "ElfFile",
    "FieldSpec",
    "MapSpec",
    "NotBpfError",
    "NotElfError",
    "ObjectSpec",
    "ProgramSpec",
    "describe_type",
    "field_tree",
    "load_spec",
    "parse_btf",
    "read_elf",
]
