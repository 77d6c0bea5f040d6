"""Telling a program argument that names a file from a reference in the local store.

Shared by `bee run` and `bee describe`; plain `pathlib` checks, nothing else imported.
"""

from __future__ import annotations

from pathlib import Path

from bee.errors import InputFileError


def existing_file(text: str) -> Path | None:
    """`text` as a path when it names a regular file, else None; InputFileError when it cannot be checked."""
    path = Path(text).expanduser()
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
    return f"{text} is not a file" if Path(text).expanduser().exists() else f"{text} does not exist"
