"""Where bee's compile step keeps what it makes once: the user's cache directory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bee.errors import BuildError
from bee.inputs import cache_home


def cache_dir() -> Path:
    """The user's cache directory for bee (`$XDG_CACHE_HOME/bee`, default `~/.cache/bee`)."""
    return cache_home() / "bee"


def write_cached(target: Path, data: bytes) -> Path:
    """Write `data` to the cache file `target` atomically (temp file + rename); raises BuildError."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise BuildError(cache_message(target, "cannot write", exc.strerror or str(exc))) from exc
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def cached(target: Path) -> bool:
    """True when the cache already holds `target`; raises BuildError when it exists but cannot be read, or
    cannot be looked at (a directory above it another user's)."""
    try:
        present = target.is_file()
    except OSError as exc:
        raise BuildError(cache_message(target, "cannot look for", exc.strerror or str(exc))) from None
    if present:
        if not os.access(target, os.R_OK):
            raise BuildError(cache_message(target, "cannot read", "Permission denied"))
        return True
    return False


def cache_message(target: Path, what: str, reason: str) -> str:
    """Why the vmlinux.h cache cannot be used (often: made by an earlier build as root), and the fixes."""
    cache = cache_dir()
    return (f"{what} the vmlinux.h cache {target} ({reason}); make {cache} yours "
            f"(sudo chown -R {os.getuid()} {cache}, or remove it), or set XDG_CACHE_HOME to a directory "
            "you own, or BEE_VMLINUX_H to a vmlinux.h")
