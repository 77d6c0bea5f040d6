"""The golden objects: every C test program compiled once, committed under `tests/data/obj/`.

Tests load these objects instead of compiling, so parsing, decoding and describing need neither
clang nor root. `make testdata` (`python -m tests.goldens`) rebuilds them with bee's own compile
line (`bee.compile.compiler.compile_bpf`) against the committed minimal `tests/data/include/vmlinux.h`
for the x86 target, so the same toolchain gives the same bytes on any machine. The toolchain is
pinned (`CLANG_MAJOR`, `LIBBPF_HEADERS`); tests/test_goldens.py checks, where that toolchain is
installed, that every committed object is what a rebuild gives. tests/data/obj/README.md explains.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import DATA, REPO

SOURCES = DATA / "src"
OBJECTS = DATA / "obj"
VMLINUX_H = DATA / "include" / "vmlinux.h"
ARCH = "x86"  # -D__TARGET_ARCH_x86, whatever the building machine is
CLANG_MAJOR = 14  # Debian 12's clang (clang-14 1:14.0.6)
LIBBPF_HEADERS = "1.1"  # Debian 12's libbpf-dev (1:1.1.2): /usr/include/bpf/libbpf_version.h


@dataclass(frozen=True)
class Golden:
    """One committed object: `tests/data/obj/<name>.o`, compiled from `source` with `cflags` added."""

    name: str
    source: Path
    cflags: tuple[str, ...] = ()

    @property
    def path(self) -> Path:
        return OBJECTS / f"{self.name}.o"


def _goldens() -> dict[str, Golden]:
    plain = [Golden(source.stem, source) for source in sorted(SOURCES.glob("*.c"))]
    variants = [
        Golden("opensnoop", REPO / "examples" / "opensnoop" / "opensnoop.c"),  # the README's example program
        Golden("spec_legacy_nobtf", SOURCES / "spec_legacy.c", ("-g0",)),  # no .BTF section at all
        Golden("legacy_opensnoop_nobtf", SOURCES / "legacy_opensnoop.c", ("-g0",)),
        Golden("spec_section_be", SOURCES / "spec_section.c", ("-target", "bpfeb")),  # big-endian ELF and BTF
        Golden("lb_ringbuf_be", SOURCES / "lb_ringbuf.c", ("-target", "bpfeb")),
        Golden("legacy_maps_be", SOURCES / "legacy_maps.c", ("-target", "bpfeb")),
        Golden("dec_layout_be", SOURCES / "dec_layout.c", ("-target", "bpfeb")),
        Golden("params_be", SOURCES / "params.c", ("-target", "bpfeb")),
    ]
    return {golden.name: golden for golden in plain + variants}


GOLDENS = _goldens()


def object_path(name: str) -> Path:
    """The committed object `name`; raises KeyError naming `make testdata` for a name with no golden."""
    if name not in GOLDENS:
        raise KeyError(f"no golden object {name!r}: add its source to tests/data/src and run `make testdata`")
    return GOLDENS[name].path


def object_bytes(name: str) -> bytes:
    """The bytes of the committed object `name` (see `object_path`)."""
    return object_path(name).read_bytes()


def toolchain_problem() -> str | None:
    """None when clang, llvm-strip and the libbpf headers are the pinned ones; else what differs."""
    from bee.compile.headers import libbpf_include_dir
    from bee.compile.toolchain import find_tool
    from bee.errors import BuildError

    try:
        clang = find_tool("clang")
        find_tool("llvm-strip")
        version_h = libbpf_include_dir() / "bpf" / "libbpf_version.h"
    except BuildError as exc:
        return str(exc)
    banner = subprocess.run([clang, "--version"], capture_output=True, text=True, check=False).stdout
    major = re.search(r"clang version (\d+)\.", banner)
    if major is None or int(major.group(1)) != CLANG_MAJOR:
        first = banner.splitlines()[0] if banner else "not a clang that runs"
        return f"the golden objects are pinned to clang {CLANG_MAJOR}; {clang} is {first}"
    text = version_h.read_text() if version_h.is_file() else ""
    found = ".".join(re.findall(r"LIBBPF_(?:MAJOR|MINOR)_VERSION (\d+)", text)) or "unknown"
    if found != LIBBPF_HEADERS:
        return f"the golden objects are pinned to libbpf headers {LIBBPF_HEADERS}; {version_h} is {found}"
    return None


@contextmanager
def _minimal_vmlinux_h() -> Iterator[None]:
    """bee's compile line with the committed vmlinux.h (BEE_VMLINUX_H) for the duration."""
    saved = os.environ.get("BEE_VMLINUX_H")
    os.environ["BEE_VMLINUX_H"] = str(VMLINUX_H)
    try:
        yield
    finally:
        if saved is None:
            del os.environ["BEE_VMLINUX_H"]
        else:
            os.environ["BEE_VMLINUX_H"] = saved


def build(golden: Golden, output: Path) -> None:
    """Compile `golden` to `output` as `make testdata` does; raises BuildError as `compile_bpf` does."""
    from bee.compile.compiler import compile_bpf

    with _minimal_vmlinux_h():
        compile_bpf(golden.source, output, arch=ARCH, cflags=golden.cflags)


def main(argv: list[str]) -> int:
    """`python -m tests.goldens [--any-toolchain]`: rebuild every object and remove those with no source."""
    problem = toolchain_problem()
    if problem is not None and "--any-toolchain" not in argv:
        print(f"testdata: {problem} (--any-toolchain builds anyway, with other bytes)", file=sys.stderr)
        return 1
    changed = []
    for golden in GOLDENS.values():
        before = golden.path.read_bytes() if golden.path.is_file() else None
        build(golden, golden.path)  # written atomically
        if golden.path.read_bytes() != before:
            changed.append(golden.name)
    stale = sorted(p for p in OBJECTS.glob("*.o") if p.stem not in GOLDENS)
    for path in stale:
        path.unlink()
    print(f"testdata: {len(GOLDENS)} objects in {OBJECTS.relative_to(REPO)}; "
          f"rewritten: {', '.join(changed) or 'none'}; removed: {', '.join(p.name for p in stale) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
