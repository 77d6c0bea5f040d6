"""The include directories a bee program compiles against.

- `solo_types.h` ships inside the package (`bee/compile/include`).
- `vmlinux.h`: bee's pinned kernel types for the target architecture (bee.compile.kernel_types), so
  the same source gives the same object on every build host; or the user's (`--btf PLATFORM=FILE`:
  raw BTF dumped with bpftool once and cached under `$XDG_CACHE_HOME/bee/vmlinux/<sha256 of the BTF>/`,
  or a vmlinux.h); or $BEE_VMLINUX_H.
- libbpf's `bpf/*.h` come from the system (`libbpf-dev`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from bee.compile import kernel_types
from bee.compile.paths import cache_dir, cached, write_cached
from bee.errors import BuildError

BTF_MAGIC_LE, BTF_MAGIC_BE = b"\x9f\xeb", b"\xeb\x9f"
PACKAGE_INCLUDE = Path(__file__).resolve().parent / "include"
LIBBPF_HEADER_DIRS = (Path("/usr/include"), Path("/usr/local/include"))


def _bpftool() -> str:
    """The path of bpftool; raises BuildError naming its package when it is missing."""
    found = shutil.which("bpftool") or next(
        (p for p in ("/usr/sbin/bpftool", "/sbin/bpftool") if os.access(p, os.X_OK)), None
    )
    if found is None:
        raise BuildError("bpftool was not found; install it (apt-get install bpftool) to make a vmlinux.h from BTF")
    return found


def is_btf(head: bytes) -> bool:
    """True when `head` (the first bytes of a file) starts a raw BTF blob, in either byte order."""
    return head[:2] in (BTF_MAGIC_LE, BTF_MAGIC_BE)


def header_from_btf(btf: Path) -> Path:
    """A `vmlinux.h` for the kernel types in `btf`: a raw BTF file (as /sys/kernel/btf/vmlinux) is dumped
    as C with bpftool once and cached under its sha256; a file that is not BTF is taken as a vmlinux.h.

    Raises BuildError when the file cannot be read, bpftool is missing or fails, or the cache cannot be
    read or written (e.g. made by an earlier build as root).
    """
    try:
        data = btf.read_bytes()
    except OSError as exc:
        raise BuildError(f"cannot read the kernel types {btf} ({exc.strerror or exc})") from exc
    if not is_btf(data[:2]):
        if b"\0" in data[:4096]:
            raise BuildError(f"{btf} is neither raw BTF (as /sys/kernel/btf/vmlinux) nor a C header (vmlinux.h)")
        return btf
    target = cache_dir() / "vmlinux" / hashlib.sha256(data).hexdigest()[:16] / "vmlinux.h"
    if cached(target):
        return target
    proc = subprocess.run([_bpftool(), "btf", "dump", "file", str(btf), "format", "c"], capture_output=True,
                          check=False)
    if proc.returncode != 0:
        raise BuildError(f"bpftool could not dump {btf}: {proc.stderr.decode(errors='replace').strip()}")
    return write_cached(target, proc.stdout)


def vmlinux_header(arch: str, btf: Path | None = None) -> Path:
    """The `vmlinux.h` a program for target `arch` (`x86`, `arm64`: toolchain.target_arch) compiles against.

    In this order: $BEE_VMLINUX_H (one header for every target), `btf` (the user's types for this target:
    header_from_btf), else bee's pinned types for `arch` (bee.compile.kernel_types), the same on every
    build host. Raises BuildError.
    """
    override = os.environ.get("BEE_VMLINUX_H")
    if override:
        path = Path(override)
        if not path.is_file():
            raise BuildError(f"BEE_VMLINUX_H={override} is not a file")
        return path
    if btf is not None:
        return header_from_btf(btf)
    return kernel_types.pinned_header(arch)


def libbpf_include_dir() -> Path:
    """Return the directory holding `bpf/bpf_helpers.h`; raises BuildError naming libbpf-dev if absent."""
    for directory in LIBBPF_HEADER_DIRS:
        if (directory / "bpf" / "bpf_helpers.h").is_file():
            return directory
    raise BuildError("libbpf headers (bpf/bpf_helpers.h) were not found; install them (apt-get install libbpf-dev)")


def include_dirs(arch: str, btf: Path | None = None) -> list[Path]:
    """All include directories for a compile for target `arch` (with the user's `btf`, if any), in search
    order; the first holds `vmlinux.h`."""
    dirs = [vmlinux_header(arch, btf).parent, PACKAGE_INCLUDE]
    libbpf = libbpf_include_dir()
    if libbpf not in (Path("/usr/include"),):
        dirs.append(libbpf)
    return dirs
