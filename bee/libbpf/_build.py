"""Write `_libbpf_cffi.py`, the committed FFI module that spares every start parsing `_cdef`.

    python -m bee.libbpf._build [OUTPUT]     # default: _libbpf_cffi.py next to this file

cffi's out-of-line ABI mode: no C compiler is involved, the output is a pure-Python module
holding the declarations in cffi's compact form, and importing it needs no pycparser. Rerun
after changing `_cdef.py`; a unit test fails while the committed module differs from `source()`.
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

from cffi import FFI

from bee.libbpf._cdef import CDEF, LIBC_CDEF

MODULE = "bee.libbpf._libbpf_cffi"
DEFAULT_OUTPUT = Path(__file__).with_name("_libbpf_cffi.py")
HEADER = ("# Written by `python -m bee.libbpf._build` from bee/libbpf/_cdef.py; do not edit.\n"
          "# ruff: noqa: E501\n")


def source() -> str:
    """The text of the generated module for `_cdef`'s declarations, with the installed cffi."""
    builder = FFI()
    builder.set_source(MODULE, None)
    builder.cdef(CDEF)
    builder.cdef(LIBC_CDEF)
    text = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()):  # cffi announces "generating <file>"
        builder.emit_python_code(text)
    return HEADER + text.getvalue()


def write(path: Path = DEFAULT_OUTPUT) -> bool:
    """Write the module to `path`; False (and nothing written) when it already holds that text."""
    text = source()
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    """Command line: write the module to the path given (default `DEFAULT_OUTPUT`)."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DEFAULT_OUTPUT
    print(f"{'wrote' if write(path) else 'up to date:'} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
