"""The include directories a bee program compiles against.

- `solo_types.h` ships inside the package (`bee/compile/include`).
- `vmlinux.h` is generated once per kernel BTF with bpftool and cached under
  `$XDG_CACHE_HOME/bee/vmlinux/<sha256 of the BTF>/`, or taken from $BEE_VMLINUX_H.
- libbpf's `bpf/*.h` come from the system (`libbpf-dev`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from bee.errors import BuildError

KERNEL_BTF = Path("/sys/kernel/btf/vmlinux")
PACKAGE_INCLUDE = Path(__file__).resolve().parent / "include"
LIBBPF_HEADER_DIRS = (Path("/usr/include"), Path("/usr/local/include"))


def cache_dir() -> Path:
    """The user's cache directory for bee (`$XDG_CACHE_HOME/bee`, default `~/.cache/bee`)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bee"


def vmlinux_header(btf: Path = KERNEL_BTF) -> Path:
    """Return the path of a `vmlinux.h` for the running kernel, generating and caching it on first use.

    Raises BuildError when the kernel exposes no BTF, bpftool is missing, or the cache cannot be
    read or written (e.g. made by an earlier build as root).
    """
    override = os.environ.get("BEE_VMLINUX_H")
    if override:
        path = Path(override)
        if not path.is_file():
            raise BuildError(f"BEE_VMLINUX_H={override} is not a file")
        return path
    try:
        digest = hashlib.sha256(btf.read_bytes()).hexdigest()[:16]
    except OSError as exc:
        raise BuildError(
            f"cannot read the kernel's BTF at {btf} ({exc.strerror}); "
            "set BEE_VMLINUX_H to a vmlinux.h or build in the container"
        ) from exc
    target = cache_dir() / "vmlinux" / digest / "vmlinux.h"
    if target.is_file():
        if not os.access(target, os.R_OK):
            raise BuildError(_cache_message(target, "cannot read", "Permission denied"))
        return target
    bpftool = shutil.which("bpftool") or next(
        (p for p in ("/usr/sbin/bpftool", "/sbin/bpftool") if os.access(p, os.X_OK)), None
    )
    if bpftool is None:
        raise BuildError("bpftool was not found; install it (apt-get install bpftool) to generate vmlinux.h")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildError(_cache_message(target, "cannot write", exc.strerror or str(exc))) from exc
    proc = subprocess.run(
        [bpftool, "btf", "dump", "file", str(btf), "format", "c"], capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise BuildError(f"bpftool could not dump {btf}: {proc.stderr.decode(errors='replace').strip()}")
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".vmlinux.", suffix=".h")
    except OSError as exc:
        raise BuildError(_cache_message(target, "cannot write", exc.strerror or str(exc))) from exc
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(proc.stdout)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _cache_message(target: Path, what: str, reason: str) -> str:
    """Why the vmlinux.h cache cannot be used (often: made by an earlier build as root), and the fixes."""
    cache = target.parent.parent
    return (f"{what} the vmlinux.h cache {target} ({reason}); make {cache} yours "
            f"(sudo chown -R {os.getuid()} {cache}, or remove it), or set XDG_CACHE_HOME to a directory "
            "you own, or BEE_VMLINUX_H to a vmlinux.h")


def libbpf_include_dir() -> Path:
    """Return the directory holding `bpf/bpf_helpers.h`; raises BuildError naming libbpf-dev if absent."""
    for directory in LIBBPF_HEADER_DIRS:
        if (directory / "bpf" / "bpf_helpers.h").is_file():
            return directory
    raise BuildError("libbpf headers (bpf/bpf_helpers.h) were not found; install them (apt-get install libbpf-dev)")


def include_dirs() -> list[Path]:
    """All include directories for a compile, in search order."""
    dirs = [vmlinux_header().parent, PACKAGE_INCLUDE]
    libbpf = libbpf_include_dir()
    if libbpf not in (Path("/usr/include"),):
        dirs.append(libbpf)
    return dirs
