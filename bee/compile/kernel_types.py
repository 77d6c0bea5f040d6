"""bee's pinned kernel types: one `vmlinux.h` per target architecture, shipped with bee.

CO-RE programs need the kernel's type names and layouts at compile time, not the build host's own
kernel: libbpf relocates field offsets against the running kernel when the program loads. So bee
compiles against a fixed, versioned set of types per architecture (`types/<arch>/vmlinux.h.xz`, with
`types/<arch>/SOURCE` naming the Debian kernel package they were taken from and every checksum), and
the same source gives the same object, and the builder image the same tag, on every build host.
`scripts/kernel_types.py` is how they are made (docs/platforms.md).

The header is unpacked once into the user's cache (`$XDG_CACHE_HOME/bee/types/<sha256>/<arch>/`), or
read from `$BEE_KERNEL_TYPES/<arch>/vmlinux.h` (the builder image unpacks them there when it is built).
"""

from __future__ import annotations

import hashlib
import lzma
import os
import sys
from pathlib import Path

from bee.compile.paths import cache_dir, cached, write_cached
from bee.errors import BuildError

TYPES_DIR = Path(__file__).resolve().parent / "types"
PACKED = "vmlinux.h.xz"
HEADER = "vmlinux.h"


def pinned_arches() -> tuple[str, ...]:
    """The target architectures bee ships kernel types for (`x86`, `arm64`)."""
    return tuple(sorted(p.parent.name for p in TYPES_DIR.glob(f"*/{PACKED}")))


def pinned_goarches() -> tuple[str, ...]:
    """The platforms bee ships kernel types for, as OCI architecture names (`amd64`, `arm64`): the Debian
    architecture each `SOURCE` names (a 32-bit x86 build must not take the amd64 types of `x86`)."""
    return tuple(sorted(source_of(arch).get("architecture", "") for arch in pinned_arches()))


def source_of(arch: str) -> dict[str, str]:
    """The `SOURCE` record of `arch`'s pinned types (package, version, checksums); empty when absent."""
    try:
        text = (TYPES_DIR / arch / "SOURCE").read_text()
    except OSError:
        return {}
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def _unpack(arch: str) -> bytes:
    try:
        return lzma.decompress((TYPES_DIR / arch / PACKED).read_bytes())
    except FileNotFoundError:
        raise BuildError(f"bee has no kernel types for the target architecture {arch} (it has "
                         f"{', '.join(pinned_arches())}); give them with --btf linux/<arch>=FILE") from None
    except (OSError, lzma.LZMAError) as exc:
        raise BuildError(f"bee's kernel types for {arch} ({TYPES_DIR / arch / PACKED}) cannot be read: {exc}; "
                         "reinstall bee") from None


def pinned_header(arch: str) -> Path:
    """The path of `vmlinux.h` for target `arch` from bee's pinned types, unpacked on first use.

    Raises BuildError when bee has none for `arch` or the cache cannot be written.
    """
    shipped = os.environ.get("BEE_KERNEL_TYPES")
    if shipped:
        path = Path(shipped) / arch / HEADER
        if path.is_file():
            return path
    try:
        packed = (TYPES_DIR / arch / PACKED).read_bytes()
    except OSError:
        packed = b""
    target = cache_dir() / "types" / hashlib.sha256(packed).hexdigest()[:16] / arch / HEADER
    if packed and cached(target):
        return target
    return write_cached(target, _unpack(arch))


def unpack_all(directory: Path) -> list[Path]:
    """Write every pinned `vmlinux.h` under `directory/<arch>/` (the builder image's set-up step)."""
    written = []
    for arch in pinned_arches():
        target = directory / arch / HEADER
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_unpack(arch))
        written.append(target)
    return written


if __name__ == "__main__":  # python3 -m bee.compile.kernel_types DIR: in the builder's Dockerfile
    for path in unpack_all(Path(sys.argv[1])):
        print(path)
