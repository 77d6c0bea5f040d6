"""Parameters: the `const volatile` globals of a program, set when it runs (`bee run --param NAME=VALUE`,
`params:` of a runner config) and shown by `bee describe`.

`bee.elf.variables` finds them in an object; this package reads the values people write (`text`), knows
which values each C type takes and how it is laid out (`kinds`), and turns a set of them into the new
initial bytes of the object's `.rodata` (`assign`). Pure: no kernel, no libbpf; `bee.run` hands the bytes
to libbpf between open and load.
"""

from bee.params.assign import ParamError, RodataImage, check_name, rodata_image
from bee.params.kinds import Kind, kind_of

__all__ = ["Kind", "ParamError", "RodataImage", "check_name", "kind_of", "rodata_image"]
