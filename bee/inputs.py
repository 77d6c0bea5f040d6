"""Telling a program argument that names a file from a reference in the local store, and the user's paths
(`~` expanded, the cache home).

Shared by `bee run`, `bee build` and `bee describe`; plain `pathlib` checks, nothing else imported.
"""

from __future__ import annotations

from pathlib import Path

from bee.errors import InputFileError


def expand_user(path: str | Path) -> Path:
    """`path` with a leading `~` or `~user` expanded; as given when that user (or the home) is unknown, so
    that the file is then reported missing instead of failing with RuntimeError."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        return Path(path)


def cache_home() -> Path:
    """`$XDG_CACHE_HOME` when it is an absolute path, else `~/.cache`: the XDG base directory spec makes a
    relative one invalid (it would name another directory from every working directory)."""
    import os

    base = os.environ.get("XDG_CACHE_HOME", "")
    return Path(base) if os.path.isabs(base) else Path.home() / ".cache"


def existing_file(text: str) -> Path | None:
    """`text` as a path when it names a regular file, else None; InputFileError when it cannot be checked."""
    path = expand_user(text)
    try:
        return path if path.is_file() else None
    except OSError as exc:
        raise InputFileError(f"cannot access {text}: {exc.strerror or exc}") from exc


def looks_like_path(text: str) -> bool:
    """True for text meant as a file (`./x.o`, `/tmp/x`, `x.o`): a missing file is then reported as
    missing rather than as an unknown reference."""
    return text.startswith(("/", "./", "../", "~")) or text.endswith(".o")


def missing_file_message(text: str) -> str:
    """Why `text`, meant as a file, cannot be used (it was found not to be a regular file)."""
    return f"{text} is not a file" if expand_user(text).exists() else f"{text} does not exist"


#: The largest program object bee reads (64 MiB): real BPF objects are kilobytes to a few MiB (BTF included),
#: so a bigger file is a mistake, and it is refused before it is read into memory.
MAX_OBJECT_SIZE = 64 << 20


def read_object(path: Path) -> bytes:
    """The bytes of the program object at `path`, refused before reading when over MAX_OBJECT_SIZE.

    The size is checked with fstat on the open file, and at most one byte more than the limit is
    read (a file growing meanwhile is refused too). Raises InputFileError.
    """
    import os

    limit = MAX_OBJECT_SIZE
    try:
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            data = file.read(limit + 1) if size <= limit else b""
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if size > limit or len(data) > limit:
        raise InputFileError(f"{path} is {max(size, len(data)) / (1 << 20):.0f} MiB, more than the "
                             f"{limit >> 20} MiB a BPF object may be; give the compiled .o of the program "
                             "(real objects are a few MiB at most)")
    return data
