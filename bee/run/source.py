"""Where `bee run` gets its program: a file if the argument is one, else a ref in the local store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bee.describe import existing_file, looks_like_path, missing_file_message
from bee.errors import InputFileError


@dataclass(frozen=True)
class ProgramSource:
    """The ELF bytes of a program and how to name it to the user."""

    data: bytes
    location: str  # the path, or the reference
    name: str  # short name for the object (libbpf prefixes .data/.bss maps with it)


def load_program(program: str, store_root: Path) -> ProgramSource:
    """Read `program` from disk when it is a file, else from the local store.

    Raises InputFileError (a path that does not exist or cannot be read), InvalidReferenceError,
    RefNotFoundError, StoreError.
    """
    path = existing_file(program)
    if path is not None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
        return ProgramSource(data, str(path), path.stem)
    if looks_like_path(program):
        raise InputFileError(missing_file_message(program))
    from bee.oci.reference import parse_reference
    from bee.oci.store import LocalStore

    reference = parse_reference(program)
    store = LocalStore(store_root)
    data = store.program_bytes(store.resolve(program))
    return ProgramSource(data, program, reference.repository.rsplit("/", 1)[-1])
