"""Find the compiler tools and name the BPF target architecture.

Debian and Ubuntu install clang and llvm-strip with a version suffix
(`clang-14`, `llvm-strip-16`) and sometimes without the plain name; we take
the plain name when it exists, else the highest installed version.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from bee.errors import BuildError

# `uname -m` → the suffix of clang's `-D__TARGET_ARCH_<arch>` that libbpf's bpf_tracing.h knows.
_TARGET_ARCH = {
    "x86_64": "x86",
    "amd64": "x86",
    "i386": "x86",
    "i686": "x86",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "armv6l": "arm",
    "ppc64le": "powerpc",
    "ppc64": "powerpc",
    "s390x": "s390",
    "riscv64": "riscv",
    "loongarch64": "loongarch",
    "mips64": "mips",
    "mips": "mips",
}
KNOWN_ARCHES = tuple(sorted(set(_TARGET_ARCH.values())))

_ENV_OVERRIDE = {"clang": "BEE_CLANG", "llvm-strip": "BEE_LLVM_STRIP"}
_PACKAGE = {"clang": "clang", "llvm-strip": "llvm"}


def target_arch(arch: str | None = None) -> str:
    """Return the `__TARGET_ARCH_` suffix for `arch` (a uname machine or a target name), default the host.

    Raises BuildError for an architecture libbpf has no target for.
    """
    name = arch or os.uname().machine
    if name in KNOWN_ARCHES:
        return name
    try:
        return _TARGET_ARCH[name]
    except KeyError:
        raise BuildError(
            f"unknown target architecture {name!r}; use one of: {', '.join(KNOWN_ARCHES)}"
        ) from None


def find_tool(name: str) -> str:
    """Return the path of `clang` or `llvm-strip`, honouring $BEE_CLANG / $BEE_LLVM_STRIP.

    Raises BuildError naming the Debian package to install when none is found.
    """
    override = os.environ.get(_ENV_OVERRIDE.get(name, ""), "")
    if override:
        path = shutil.which(override)
        if path is None:
            raise BuildError(f"{_ENV_OVERRIDE[name]}={override} is not an executable")
        return path
    plain = shutil.which(name)
    if plain:
        return plain
    best: tuple[int, str] | None = None
    pattern = re.compile(rf"^{re.escape(name)}(?:-(\d+))?$")
    llvm_dirs = [str(p) for p in Path("/usr/lib").glob("llvm-*/bin")]
    for directory in os.environ.get("PATH", "").split(os.pathsep) + llvm_dirs:
        try:
            entries = os.listdir(directory)
        except OSError:
            continue
        for entry in entries:
            match = pattern.match(entry)
            full = os.path.join(directory, entry)
            if not match or not os.access(full, os.X_OK):
                continue
            suffix = match.group(1) or re.search(r"llvm-(\d+)", directory)
            version = int(suffix if isinstance(suffix, str) else suffix.group(1) if suffix else 0)
            if best is None or version > best[0]:
                best = (version, full)
    if best is None:
        raise BuildError(
            f"{name} was not found; install it (apt-get install {_PACKAGE.get(name, name)}) "
            "or build in the container without --local"
        )
    return best[1]
